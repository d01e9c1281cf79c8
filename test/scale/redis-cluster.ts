import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killAndRemove } from './processes';
import { freePort } from '../support/server';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A throwaway Redis Cluster on 127.0.0.1: `masters` redis-server processes with `--cluster-enabled yes`,
 * each on a free port with a directory of its own, joined by `redis-cli --cluster create`, and as many
 * replicas per master as asked. Needs the redis-server and redis-cli binaries (Debian: redis-server, redis-tools).
 */
export class LocalRedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly procs: Map<number, ChildProcess>,
    private readonly dir: string,
    private readonly nodeTimeoutMs: number,
  ) {}

  static async start(opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<LocalRedisCluster> {
    const masters = opts.masters ?? 3;
    const replicas = opts.replicas ?? 0;
    const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-cluster-'));
    const ports: number[] = [];
    while (ports.length < masters * (1 + replicas)) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: it must be free too, and below 65536.
      if (port + 10000 < 65536 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new LocalRedisCluster(ports, new Map(), dir, nodeTimeoutMs);
    try {
      for (const port of ports) await cluster.startNode(port);
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `redis+cluster://…` naming every node as a seed. */
  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  private async startNode(port: number): Promise<void> {
    const nodeDir = join(this.dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const proc = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout', String(this.nodeTimeoutMs),
        '--dir', nodeDir,
        '--save', '',
        '--appendonly', 'no',
        '--protected-mode', 'no',
      ],
      { stdio: 'ignore' },
    );
    this.procs.set(port, proc);
    for (let i = 0; ; i++) {
      try {
        const { stdout } = await this.cli(port, 'PING');
        if (stdout.trim() === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (proc.exitCode !== null || i > 100) throw new Error(`redis-server on ${port} did not start`);
      await sleep(50);
    }
  }

  cli(port: number, ...args: string[]): Promise<{ stdout: string }> {
    return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  }

  /** Every node agrees the cluster is up and every slot is served. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(
        [...this.procs.keys()].map((p) => this.cli(p, 'CLUSTER', 'INFO').then((r) => /cluster_state:ok/.test(r.stdout), () => false)),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > until) throw new Error('Redis Cluster did not become healthy');
      await sleep(100);
    }
  }

  /** The port of the master serving `key`'s slot. */
  async masterOf(key: string): Promise<number> {
    const { stdout } = await this.cli(this.ports[0], 'CLUSTER', 'KEYSLOT', key);
    const slot = Number(stdout.trim());
    const nodes = (await this.cli(this.ports[0], 'CLUSTER', 'NODES')).stdout.split('\n');
    for (const line of nodes) {
      const parts = line.split(' ');
      if (!parts[2]?.includes('master') || parts[2].includes('fail')) continue;
      for (const range of parts.slice(8)) {
        const [lo, hi = lo] = range.split('-').map(Number);
        if (slot >= lo && slot <= hi) return Number(parts[1].split(':')[1].split('@')[0]);
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /** Keys matching `pattern` on each master, by port. */
  async keysByNode(pattern: string): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const port of this.ports) {
      const role = (await this.cli(port, 'ROLE').catch(() => ({ stdout: '' }))).stdout;
      if (!role.startsWith('master')) continue;
      const { stdout } = await this.cli(port, '--scan', '--pattern', pattern);
      out.set(port, stdout.split('\n').filter(Boolean));
    }
    return out;
  }

  /** Kills one node as a crash would (SIGKILL). */
  kill(port: number): void {
    this.procs.get(port)?.kill('SIGKILL');
    this.procs.delete(port);
  }

  stop(): Promise<void> {
    return killAndRemove(this.procs, this.dir);
  }
}
