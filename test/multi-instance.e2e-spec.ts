import { consumerWithKey, sleep } from './support/fixtures';
import { sharedInstanceCases } from './support/shared-instances';
import { TcpProxy } from './support/tcp-proxy';
import { REDIS_URL, type Response, TestServer, USE_MYSQL } from './support/server';


const describeMulti = USE_MYSQL && REDIS_URL ? describe : describe.skip;

describeMulti('two instances on MariaDB + Redis (runs with DB_TYPE=mysql and REDIS_URL set)', () => {
  const prefix = `tg-e2e-multi-${Math.random().toString(36).slice(2, 10)}:`;
  const env = { REDIS_PREFIX: prefix, DEFAULT_RATE_LIMIT: '100000', LOG_LEVEL: 'warn' };
  let a: TestServer;
  let b: TestServer;
  let proxy: TcpProxy;

  beforeAll(async () => {
    proxy = await TcpProxy.to(REDIS_URL!, 6379);
    a = await TestServer.start({ env });
    // B reaches Redis through the proxy, so that the test can take Redis away from B alone.
    b = await TestServer.startSibling(a, { env: { ...env, REDIS_URL: proxy.url } });
  });

  afterAll(async () => {
    await b?.stop('SIGTERM', false);
    await a?.stop();
    await proxy?.close();
  });

  sharedInstanceCases(() => ({ a, b }));

  it('keeps serving under local limits while Redis is away, with no 5xx, and shares again once it is back', async () => {
    const { plaintext } = await consumerWithKey(a, { scopes: [], rateLimits: [{ name: 'ten', limit: 10, windowSeconds: 60 }] });
    expect((await b.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await b.get('/v1/me/ping', plaintext)).headers.get('x-ratelimit-remaining')).toBe('8');

    await proxy.close();
    // Meanwhile A, still connected, counts on the shared counter: 5 of 10.
    for (let i = 0; i < 3; i++) expect((await a.get('/v1/me/ping', plaintext)).status).toBe(200);
    // B limits locally, from a fresh local counter: 10 more, then 429; nothing fails.
    const during: Response[] = [];
    for (let i = 0; i < 12; i++) during.push(await b.get('/v1/me/ping', plaintext));
    expect(during.map((r) => r.status)).toEqual([...Array(10).fill(200), 429, 429]);
    const ready = await b.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info.redis).toEqual({ status: 'up', state: 'degraded' });
    const metrics = await b.get('/metrics');
    expect(metrics.text).toMatch(/tollgate_redis_degraded 1/);
    expect(metrics.text).toMatch(/tollgate_redis_outages_total [1-9]/);
    expect(b.logs.some((l) => l.includes('enforcing limits locally'))).toBe(true);

    await proxy.open();
    const until = Date.now() + 10_000;
    while ((await b.get('/health/ready')).body.info?.redis?.state !== 'ok' && Date.now() < until) await sleep(100);
    // The limiter tries Redis again at most once a second.
    await sleep(1_100);
    const after = await b.get('/v1/me/ping', plaintext);
    expect(after.status).toBe(200);
    // Back on the shared counter: 5 + this one.
    expect(after.headers.get('x-ratelimit-remaining')).toBe('4');
    expect((await b.get('/metrics')).text).toMatch(/tollgate_redis_degraded 0/);
  });
});
