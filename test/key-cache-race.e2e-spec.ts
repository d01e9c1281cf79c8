import { consumerWithKey, sleep } from './support/fixtures';
import { TcpProxy } from './support/tcp-proxy';
import { MYSQL_URL, REDIS_URL, type Response, TestServer, USE_MYSQL } from './support/server';

const describeMulti = USE_MYSQL && REDIS_URL ? describe : describe.skip;

describeMulti('a key read in flight at revocation (runs with DB_TYPE=mysql and REDIS_URL set)', () => {
  const env = { REDIS_PREFIX: `tg-e2e-race-${Math.random().toString(36).slice(2, 10)}:`, LOG_LEVEL: 'warn' };
  let a: TestServer;
  let b: TestServer;
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = await TcpProxy.to(MYSQL_URL, 3306);
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
