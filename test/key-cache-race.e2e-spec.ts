import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { consumerWithKey, sleep } from './support/fixtures';
import { freePort, MYSQL_URL, REDIS_URL, type Response, TestServer, USE_MYSQL } from './support/server';

/**
 * A TCP proxy to the database whose answers the test can hold back: a query goes through and runs,
 * but its result reaches the server only when released. That puts a key read "in flight" for as long
 * as the test wants.
 */
class HoldingProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private held: (() => void)[] | null = null;

  private constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async to(url: string): Promise<HoldingProxy> {
    const u = new URL(url);
    const proxy = new HoldingProxy(await freePort(), { host: u.hostname, port: Number(u.port || 3306) });
    await proxy.open();
    return proxy;
  }

  /** Answers from the database wait until release(). */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const deliver of held) deliver();
  }

  get heldChunks(): number {
    return this.held?.length ?? 0;
  }

  private async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (this.held) this.held.push(() => client.write(chunk));
        else client.write(chunk);
      });
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  async close(): Promise<void> {
    this.release();
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

const describeMulti = USE_MYSQL && REDIS_URL ? describe : describe.skip;

describeMulti('a key read in flight at revocation (runs with DB_TYPE=mysql and REDIS_URL set)', () => {
  const env = { REDIS_PREFIX: `tg-e2e-race-${Math.random().toString(36).slice(2, 10)}:`, LOG_LEVEL: 'warn' };
  let a: TestServer;
  let b: TestServer;
  let proxy: HoldingProxy;

  beforeAll(async () => {
    proxy = await HoldingProxy.to(MYSQL_URL);
    a = await TestServer.start({ env });
    // B reads the database through the proxy; its key records are old after 2 s.
    const url = new URL(a.db.mysqlUrl!);
    url.host = `127.0.0.1:${proxy.port}`;
    b = await TestServer.startSibling(a, { env: { ...env, DATABASE_URL: url.toString(), KEY_CACHE_TTL_SECONDS: '2', USAGE_FLUSH_INTERVAL_MS: '60000' } });
  });

  afterAll(async () => {
    await b?.stop('SIGTERM', false);
    await a?.stop();
    await proxy?.close();
  });

  it('B refuses a key revoked on A while B was reading it, within one second, and keeps refusing it', async () => {
    const { key, plaintext } = await consumerWithKey(a, { scopes: [] });
    expect((await b.get('/v1/me/ping', plaintext)).status).toBe(200);
    await sleep(2200);

    // B's record is old: the next request starts a read of it, whose answer the proxy holds back.
    proxy.hold();
    const during = b.get('/v1/me/ping', plaintext);
    await sleep(500);
    expect(proxy.heldChunks).toBeGreaterThan(0);

    // The key is revoked on A, and B is told, while B's read (from before the revocation) is in flight.
    expect((await a.post(`/v1/admin/keys/${key.id}/revoke`, {}, a.adminKey)).status).toBe(200);
    const revokedAt = Date.now();
    await sleep(300);
    proxy.release();
    // Served from the record B had (before the revocation), or refused: never an error.
    expect([200, 401]).toContain((await during).status);

    let last: Response;
    do {
      last = await b.get('/v1/me/ping', plaintext);
      if (last.status === 401) break;
      await sleep(20);
    } while (Date.now() - revokedAt < 3_000);
    expect({ status: last.status, error: last.body.error }).toEqual({ status: 401, error: 'KEY_REVOKED' });
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(1_000);
    // The read from before the revocation did not land afterwards.
    for (let i = 0; i < 10; i++) {
      expect((await b.get('/v1/me/ping', plaintext)).status).toBe(401);
      await sleep(50);
    }
  });
});
