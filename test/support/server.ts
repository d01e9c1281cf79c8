import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { generateKey } from '../../src/auth/key-format';
import { checkAgainstContract } from './contract';

export const ROOT = resolve(__dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'src', 'main.js');
export const USE_MYSQL = process.env.DB_TYPE === 'mysql';
export const MYSQL_URL = process.env.DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL;

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

/**
 * A database of its own for one suite: a temporary SQLite file, or on MySQL a fresh schema that is
 * dropped afterwards. Several servers may share one (multi-instance tests).
 */
export class TestDatabase {
  private constructor(
    readonly env: Record<string, string>,
    private readonly cleanup: () => Promise<void>,
  ) {}

  static async create(): Promise<TestDatabase> {
    if (USE_MYSQL) {
      const name = `tg_e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
      const url = new URL(MYSQL_URL);
      const admin = await createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
      await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await admin.end();
      url.pathname = `/${name}`;
      return new TestDatabase({ DB_TYPE: 'mysql', DATABASE_URL: url.toString(), KEY_HASH_SECRET: 'e2e-secret-0123456789abcdef' }, async () => {
        const c = await createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await c.end();
      });
    }
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-e2e-'));
    return new TestDatabase({ DB_TYPE: 'sqlite', SQLITE_PATH: join(dir, 'tollgate.sqlite') }, async () => rmSync(dir, { recursive: true, force: true }));
  }

  /** A connection for assertions on what was stored (MySQL), or the SQLite file path. */
  get mysqlUrl(): string | undefined {
    return this.env.DATABASE_URL;
  }

  get sqlitePath(): string | undefined {
    return this.env.SQLITE_PATH;
  }

  async drop(): Promise<void> {
    await this.cleanup();
  }
}

export interface StartOptions {
  env?: Record<string, string | undefined>;
  db?: TestDatabase;
  /** Defaults to REDIS_URL of the test run (set by `npm run test:mysql`). */
  redis?: boolean;
  adminKey?: string;
}

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  key?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  /**
   * Every response is checked against openapi.json (test/support/contract.ts). A request that is off the
   * contract on purpose (raw bytes the API never documents, a path outside the API such as /docs) says why here.
   */
  offContract?: string;
}

/** A Tollgate server started from the build, as users run it, with its own database. */
export class TestServer {
  readonly logs: string[] = [];
  private exited?: Promise<number | null>;

  private constructor(
    readonly url: string,
    readonly adminKey: string,
    readonly proc: ChildProcess,
    readonly db: TestDatabase,
    private readonly ownsDb: boolean,
  ) {
    this.exited = new Promise((ok) => proc.once('exit', (code) => ok(code)));
  }

  static async start(options: StartOptions = {}): Promise<TestServer> {
    const db = options.db ?? (await TestDatabase.create());
    const port = await freePort();
    const adminKey = options.adminKey ?? generateKey('tg', 'live').key;
    const useRedis = options.redis ?? Boolean(REDIS_URL);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ADMIN_API_KEY: adminKey,
      USAGE_FLUSH_INTERVAL_MS: '200',
      BILLING_AUTO_CLOSE: 'false',
      ...db.env,
      ...(useRedis && REDIS_URL ? { REDIS_URL, REDIS_PREFIX: `tg-e2e-${Math.random().toString(36).slice(2, 10)}:` } : {}),
    };
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    const proc = spawn(process.execPath, [MAIN], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new TestServer(`http://127.0.0.1:${port}`, adminKey, proc, db, !options.db);
    const collect = (chunk: Buffer) => server.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    proc.stdout!.on('data', collect);
    proc.stderr!.on('data', collect);
    await server.waitReady();
    return server;
  }

  /** Starts another instance on the same database (and Redis prefix, if given in env). */
  static async startSibling(of: TestServer, options: StartOptions = {}): Promise<TestServer> {
    return TestServer.start({ ...options, db: of.db, adminKey: of.adminKey });
  }

  async waitReady(timeoutMs = 30000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`server exited (${this.proc.exitCode}):\n${this.logs.join('\n')}`);
      try {
        const r = await fetch(`${this.url}/health/live`);
        if (r.ok) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until) throw new Error(`server not ready in ${timeoutMs}ms:\n${this.logs.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<Response<T>> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.key) headers['x-api-key'] = options.key;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const r = await fetch(`${this.url}${path}`, { method, headers, body });
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    if (!options.offContract) await checkAgainstContract({ method, path, status: r.status, headers: r.headers, text, body: parsed });
    return { status: r.status, body: parsed as T, headers: r.headers, text };
  }

  get<T = any>(path: string, key?: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, { key, headers });
  }

  /** A request outside the contract on purpose; `why` says what makes it so. */
  offContract<T = any>(why: string, method: string, path: string, options: Omit<RequestOptions, 'offContract'> = {}) {
    return this.request<T>(method, path, { ...options, offContract: why });
  }

  post<T = any>(path: string, body?: unknown, key?: string, headers?: Record<string, string>) {
    return this.request<T>('POST', path, { key, body: body ?? {}, headers });
  }

  patch<T = any>(path: string, body: unknown, key?: string) {
    return this.request<T>('PATCH', path, { key, body });
  }

  /** Sends a signal and waits for the process to exit; returns its exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', dropDb = true): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([this.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 20000)))]);
    clearTimeout(timer);
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    if (dropDb && this.ownsDb) await this.db.drop();
    return code ?? null;
  }

  /** Log lines parsed as JSON (non-JSON lines skipped). */
  jsonLogs(): Record<string, unknown>[] {
    return this.logs.flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
  }
}
