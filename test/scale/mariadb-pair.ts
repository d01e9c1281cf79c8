import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createConnection, type Connection } from 'mysql2/promise';
import { killAndRemove } from './processes';
import { freePort } from '../support/server';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A throwaway MariaDB primary (with a binary log) and one replica of it, each a mariadbd of its own on a
 * free port with its own datadir, so that the machine's shared MariaDB is never touched or restarted.
 * Needs mariadbd and mariadb-install-db (Debian: mariadb-server). Grant tables are skipped: root without
 * a password, on 127.0.0.1 only.
 */
export class LocalMariaDbPair {
  private constructor(
    private readonly dir: string,
    readonly primaryPort: number,
    readonly replicaPort: number,
    private readonly procs: Map<number, ChildProcess>,
  ) {}

  static async start(): Promise<LocalMariaDbPair> {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-mariadb-pair-'));
    const pair = new LocalMariaDbPair(dir, await freePort(), await freePort(), new Map());
    try {
      await pair.startServer(pair.primaryPort, 1, ['--log-bin=binlog', '--binlog-format=ROW']);
      await pair.startServer(pair.replicaPort, 2, []);
      const replica = await pair.connect(pair.replicaPort);
      await replica.query(
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${pair.primaryPort}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos`,
      );
      await replica.query('START SLAVE');
      await replica.end();
    } catch (err) {
      await pair.stop();
      throw err;
    }
    return pair;
  }

  url(port: number, database: string): string {
    return `mysql://root@127.0.0.1:${port}/${database}`;
  }

  connect(port: number): Promise<Connection> {
    return createConnection({ host: '127.0.0.1', port, user: 'root' });
  }

  private async startServer(port: number, serverId: number, extra: string[]): Promise<void> {
    const datadir = join(this.dir, String(port));
    await run('mariadb-install-db', ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root', '--skip-name-resolve']);
    const proc = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(datadir, 'mariadbd.sock')}`,
        `--pid-file=${join(datadir, 'mariadbd.pid')}`,
        `--server-id=${serverId}`,
        '--skip-grant-tables',
        '--skip-name-resolve',
        '--user=root',
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--performance-schema=OFF',
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    this.procs.set(port, proc);
    for (let i = 0; ; i++) {
      try {
        const c = await this.connect(port);
        await c.end();
        return;
      } catch {
        if (proc.exitCode !== null || i > 300) throw new Error(`mariadbd on ${port} did not start`);
        await sleep(100);
      }
    }
  }

  /** Waits until the replica has applied everything the primary wrote so far. */
  async caughtUp(timeoutMs = 20_000): Promise<void> {
    const primary = await this.connect(this.primaryPort);
    const replica = await this.connect(this.replicaPort);
    try {
      const [[{ pos }]] = (await primary.query('SELECT @@gtid_binlog_pos AS pos')) as any;
      const [[{ r }]] = (await replica.query('SELECT MASTER_GTID_WAIT(?, ?) AS r', [pos, timeoutMs / 1000])) as any;
      if (Number(r) !== 0) throw new Error('the replica did not catch up');
    } finally {
      await primary.end();
      await replica.end();
    }
  }

  /** Kills the replica as a crash would. */
  killReplica(): void {
    this.procs.get(this.replicaPort)?.kill('SIGKILL');
  }

  stop(): Promise<void> {
    return killAndRemove(this.procs, this.dir);
  }
}
