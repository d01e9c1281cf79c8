import { consumerWithKey, sleep } from '../support/fixtures';
import { insertPlan, rawSql } from '../support/raw-sql';
import { type Response, TestServer, USE_MYSQL } from '../support/server';
import { LocalRedisCluster } from './redis-cluster';

const count = (responses: Response[], status: number) => responses.filter((r) => r.status === status).length;

// Two instances share one database: MariaDB (npm run test:cluster sets it up).
const describeCluster = USE_MYSQL ? describe : describe.skip;

describeCluster('two instances on a 3-master Redis Cluster (runs with DB_TYPE=mysql)', () => {
  const prefix = `tg-e2e-cluster-${Math.random().toString(36).slice(2, 10)}:`;
  let cluster: LocalRedisCluster;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    cluster = await LocalRedisCluster.start({ masters: 3 });
    const env = { REDIS_URL: cluster.url, REDIS_PREFIX: prefix, DEFAULT_RATE_LIMIT: '100000', LOG_LEVEL: 'warn' };
    a = await TestServer.start({ env });
    b = await TestServer.startSibling(a, { env });
  });

  afterAll(async () => {
    await b?.stop('SIGTERM', false);
    await a?.stop();
    await cluster?.stop();
  });

  it('reports the cluster as Redis in readiness', async () => {
    const ready = await a.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.info.redis).toEqual({ status: 'up', state: 'ok' });
  });

  it('admits exactly the limit of one key across both instances under concurrency', async () => {
    const { plaintext } = await consumerWithKey(a, { scopes: [], rateLimits: [{ name: 'twenty', limit: 20, windowSeconds: 60 }] });
    await a.get('/v1/me/ping', plaintext);
    await b.get('/v1/me/ping', plaintext);
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).get('/v1/me/ping', plaintext)));
    expect(count(responses, 200)).toBe(18);
    expect(count(responses, 429)).toBe(42);
  });

  it('shares a quota across both instances exactly', async () => {
    const sql = await rawSql(a.db);
    try {
      const planId = await insertPlan(sql, { quotas: [{ metric: 'requests', limit: 15, period: 'month' }] });
      const { plaintext } = await consumerWithKey(a, { scopes: [] }, { planId });
      const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).get('/v1/me/ping', plaintext)));
      expect(count(responses, 200)).toBe(15);
      expect(count(responses, 429)).toBe(25);
      expect(responses.filter((r) => r.status === 429).every((r) => r.body.error === 'QUOTA_EXCEEDED')).toBe(true);
    } finally {
      await sql.close();
    }
  });

  it('refuses a key revoked on A on B within one second', async () => {
    const { key, plaintext } = await consumerWithKey(a, { scopes: [] });
    expect((await b.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await a.post(`/v1/admin/keys/${key.id}/revoke`, {}, a.adminKey)).status).toBe(200);
    const revokedAt = Date.now();
    let last: Response;
    do {
      last = await b.get('/v1/me/ping', plaintext);
      if (last.status === 401) break;
      await sleep(20);
    } while (Date.now() - revokedAt < 3_000);
    expect(last.status).toBe(401);
    expect(last.body.error).toBe('KEY_REVOKED');
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(1_000);
  });

  it("spreads consumers over the masters, keeps each consumer's counters on one, and counts each exactly", async () => {
    const sql = await rawSql(a.db);
    const consumers: Array<{ id: string; plaintext: string }> = [];
    try {
      // A plan limit (counted per consumer) and a key limit (per key): two counters in one script call.
      const planId = await insertPlan(sql, { rateLimits: [{ name: 'plan-minute', limit: 9, windowSeconds: 60 }] });
      for (let i = 0; i < 12; i++) {
        const { consumer, plaintext } = await consumerWithKey(a, { scopes: [], rateLimits: [{ name: 'key-minute', limit: 7, windowSeconds: 60 }] }, { planId, name: `c${i}` });
        consumers.push({ id: consumer.id, plaintext });
      }
    } finally {
      await sql.close();
    }
    // Every consumer's requests on both instances, all at once: a limiter flush holds many consumers.
    const responses = await Promise.all(
      consumers.flatMap(({ plaintext }) => Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).get('/v1/me/ping', plaintext).then((r) => ({ plaintext, r })))),
    );
    expect(responses.filter(({ r }) => r.status >= 500)).toEqual([]);
    for (const { plaintext } of consumers) {
      const mine = responses.filter((x) => x.plaintext === plaintext).map((x) => x.r);
      // The key's own limit (7) is the tighter one.
      expect([count(mine, 200), count(mine, 429)]).toEqual([7, 3]);
    }

    const byNode = await cluster.keysByNode(`${prefix}rl:*`);
    const nodesOf = (consumerId: string) => [...byNode].filter(([, keys]) => keys.some((k) => k.includes(`{${consumerId}}`))).map(([port]) => port);
    const homes = new Set<number>();
    for (const { id } of consumers) {
      const nodes = nodesOf(id);
      expect(nodes).toHaveLength(1);
      const keys = byNode.get(nodes[0])!.filter((k) => k.includes(`{${id}}`));
      expect(keys.some((k) => k.includes(`}c:${id}:plan-minute:60`))).toBe(true);
      expect(keys.some((k) => k.includes(':key-minute:60'))).toBe(true);
      homes.add(nodes[0]);
    }
    expect(homes.size).toBeGreaterThanOrEqual(2);
  });

  it('keeps serving under local limits, with no 5xx, while a master is gone', async () => {
    const { consumer, plaintext } = await consumerWithKey(a, { scopes: [], rateLimits: [{ name: 'ten', limit: 10, windowSeconds: 60 }] });
    expect((await b.get('/v1/me/ping', plaintext)).status).toBe(200);
    const port = await cluster.masterOf(`${prefix}rl:{${consumer.id}}`);
    cluster.kill(port);
    const during: Response[] = [];
    const until = Date.now() + 4_000;
    // Past the cluster's node timeout (2 s here), the other masters refuse too (cluster-require-full-coverage).
    while (Date.now() < until) during.push(await b.get('/v1/me/ping', plaintext));
    expect(during.filter((r) => r.status >= 500)).toEqual([]);
    expect(during.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
    const ready = await b.get('/health/ready');
    expect(ready.status).toBe(200);
    expect((await b.get('/metrics')).text).toMatch(/tollgate_redis_degraded 1/);
    expect(b.logs.some((l) => l.includes('enforcing limits locally'))).toBe(true);
  });
});
