import { consumerWithKey } from '../support/fixtures';
import { countStatus, sharedInstanceCases } from '../support/shared-instances';
import { insertPlan, rawSql } from '../support/raw-sql';
import { type Response, TestServer, USE_MYSQL } from '../support/server';
import { LocalRedisCluster } from './redis-cluster';


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

  sharedInstanceCases(() => ({ a, b }));

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
      expect([countStatus(mine, 200), countStatus(mine, 429)]).toEqual([7, 3]);
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
