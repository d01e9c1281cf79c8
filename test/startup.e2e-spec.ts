import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryDb } from './support/db';
import { freePort, MAIN, ROOT, TestDatabase, TestServer } from './support/server';

/** The server started the way a newcomer starts it: from its own working directory, with only PATH set. */
class Started {
  output = '';
  private exited: Promise<number | null>;
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.stdout!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    proc.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    this.exited = new Promise((ok) => proc.once('exit', (code) => ok(code)));
  }

  static async in(cwd: string, env: Record<string, string> = {}): Promise<Started> {
    const port = await freePort();
    const proc = spawn(process.execPath, [MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Started(proc, `http://127.0.0.1:${port}`);
  }

  /** Waits for the output to match, without sending a request (a request would add a log line). */
  async waitFor(pattern: RegExp, timeoutMs = 30000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.proc.exitCode !== null) throw new Error(`server exited (${this.proc.exitCode}):\n${this.output}`);
      if (Date.now() > until) throw new Error(`no ${pattern} in:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    await this.exited;
  }
}

const BANNER_END = /tg_live_[0-9A-Za-z]{38}[\s\S]*\n={20,}\n/;

describe('start-up', () => {
  it('refuses a bad configuration with a message naming the variable', () => {
    const r = spawnSync(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, PORT: 'not-a-port', DEFAULT_RATE_LIMIT: '-5' },
      encoding: 'utf8',
      timeout: 20000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/DEFAULT_RATE_LIMIT/);
  });

  it('generates and prints the first admin key once when none is configured', async () => {
    const db = await TestDatabase.create();
    const first = await TestServer.start({ db, env: { ADMIN_API_KEY: undefined } });
    const printed = first.logs.join('\n').match(/\b(tg_live_[0-9A-Za-z]{38})\b/);
    expect(printed).not.toBeNull();
    const key = printed![1];
    expect((await first.get('/v1/admin/consumers', key)).status).toBe(200);
    await first.stop('SIGTERM', false);
    const second = await TestServer.start({ db, env: { ADMIN_API_KEY: undefined } });
    expect(second.logs.join('\n')).not.toMatch(/first admin key/);
    expect((await second.get('/v1/admin/consumers', key)).status).toBe(200);
    await second.stop('SIGTERM', false);
    await db.drop();
  });

  it('several instances starting at once migrate once and create one admin key', async () => {
    const db = await TestDatabase.create();
    const servers = await Promise.all([TestServer.start({ db }), TestServer.start({ db }), TestServer.start({ db })]);
    try {
      const [{ n }] = await queryDb<{ n: number }>(db, "SELECT COUNT(*) AS n FROM api_keys WHERE kind = 'admin'");
      expect(Number(n)).toBe(1);
      const migrations = await queryDb(db, 'SELECT * FROM migrations');
      expect(migrations.length).toBeGreaterThan(0);
      expect(new Set(migrations.map((m: any) => m.name)).size).toBe(migrations.length);
      for (const s of servers) expect((await s.get('/health/ready')).status).toBe(200);
    } finally {
      for (const s of servers) await s.stop('SIGTERM', false);
      await db.drop();
    }
  });

  describe('first start from a copy of .env.example', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'tollgate-first-'));
      copyFileSync(join(ROOT, '.env.example'), join(dir, '.env'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('starts unedited, and ends its output with the first admin key and the URLs of the API, /docs and /dashboard', async () => {
      const s = await Started.in(dir);
      try {
        await s.waitFor(BANNER_END);
        // Give anything still buffered the time to come out: the banner must stay last.
        await new Promise((r) => setTimeout(r, 500));
        const out = s.output;
        const key = /\b(tg_live_[0-9A-Za-z]{38})\b/.exec(out)![1];
        const tail = out.slice(out.lastIndexOf('Tollgate is listening'));
        expect(tail).toContain(key);
        expect(out.trimEnd().endsWith('='.repeat(72))).toBe(true);
        for (const path of ['/v1', '/docs', '/dashboard']) expect(tail).toContain(`${s.url.replace('127.0.0.1', '127.0.0.1')}${path}`);
        expect(tail).toContain('npm run cli -- create-admin-key');
        // Framework chatter is at debug; the lines that remain name real paths.
        expect(out).not.toMatch(/dependencies initialized|Mapped \{|RoutesResolver|\/v1\/metrics/);
        expect(out.split('\n').filter((l) => l.startsWith('{')).length).toBeLessThan(10);
        expect(existsSync(join(dir, 'data', 'tollgate.sqlite'))).toBe(true);
        expect((await fetch(`${s.url}/v1/admin/consumers`, { headers: { 'x-api-key': key } })).status).toBe(200);
      } finally {
        await s.stop();
      }
    });

    it('on a restart with the same database, says in one line how to get another admin key', async () => {
      const s = await Started.in(dir);
      try {
        await s.waitFor(/Tollgate is listening.*\n.*create-admin-key.*\n/);
        expect(s.output).not.toMatch(/first admin key|tg_live_/);
        expect(s.output.split('\n').filter((l) => l.includes('npm run cli -- create-admin-key'))).toHaveLength(1);
      } finally {
        await s.stop();
      }
    });
  });

  it('reads .env from the working directory, and real environment variables win over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-env-'));
    // An address this machine does not have: the start would fail if the file's HOST won over the real one.
    writeFileSync(join(dir, '.env'), 'KEY_PREFIX=acme   # from the file\nHOST=203.0.113.1\nDOCS_ENABLED=\n');
    const s = await Started.in(dir);
    try {
      await s.waitFor(/acme_live_[0-9A-Za-z]{38}[\s\S]*\n={20,}\n/);
      expect(s.output).toContain(`${s.url}/docs`);
    } finally {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses TRUST_PROXY=true, saying why and what to set instead', () => {
    const r = spawnSync(process.execPath, [MAIN], { cwd: ROOT, env: { PATH: process.env.PATH, TRUST_PROXY: 'true' }, encoding: 'utf8', timeout: 20000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TRUST_PROXY/);
    expect(r.stderr).toMatch(/any client could choose its own address/);
    expect(r.stderr).toMatch(/hop count|number of proxies/);
  });

  it.each([
    ['a malformed DATABASE_URL', 'mysql:/root:hunter2@db.internal/tollgate'],
    ['a database that cannot be reached', 'mysql://root:hunter2@127.0.0.1:1/tollgate'],
  ])('never prints the password of %s', (_label, url) => {
    const r = spawnSync(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DB_TYPE: 'mysql', DATABASE_URL: url, KEY_HASH_SECRET: 'x'.repeat(32), LOG_LEVEL: 'debug' },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).not.toContain('hunter2');
  });
});
