import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { LimiterRedis } from '../limiter-redis';
import { consumerKey } from '../../../test/support/auth-keys';
import { limiterMetrics, metricValue } from '../../../test/support/limiter-metrics';
import type { QuotaUsageReader } from './quota-usage.reader';
import { QuotaService } from './quota.service';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const DEAD_URL = 'redis://127.0.0.1:6399';

class FakeClock {
  constructor(public t: number) {}
  readonly now = (): number => this.t;
}

/** Recorded usage by `consumer:metric`, and every read made. */
class FakeReader {
  usage = new Map<string, number>();
  reads: Array<[string, string, string, string]> = [];
  failing = false;
  async used(consumerId: string, metric: string, startMs: number, endMs: number): Promise<number> {
    this.reads.push([consumerId, metric, new Date(startMs).toISOString(), new Date(endMs).toISOString()]);
    await new Promise((r) => setImmediate(r));
    if (this.failing) throw new Error('connect ECONNREFUSED');
    return this.usage.get(`${consumerId}:${metric}`) ?? 0;
  }
}

const FEB_15 = Date.UTC(2026, 1, 15, 12);
const requests = (limit: number) => [{ metric: 'requests', limit, period: 'month' as const }];

function service(opts: { clock: FakeClock; reader: FakeReader; redis?: Redis | null; prefix?: string }) {
  const { metrics, limiter } = limiterMetrics();
  const redis = { client: opts.redis ?? null, prefix: opts.prefix ?? 'unused:' } as LimiterRedis;
  const quotas = new QuotaService(opts.reader as unknown as QuotaUsageReader, redis, limiter, opts.clock.now);
  (quotas as unknown as { logger: { warn: jest.Mock } }).logger = { warn: jest.fn() } as never;
  return { quotas, metrics };
}

describe('QuotaService (in process)', () => {
  it('counts nothing and reads nothing for a metric without a quota', async () => {
    const reader = new FakeReader();
    const { quotas } = service({ clock: new FakeClock(FEB_15), reader });
    const key = consumerKey({ quotas: [{ metric: 'tokens', limit: 5, period: 'month' }] });
    expect(quotas.hasQuota(key, 'requests')).toBe(false);
    expect(await quotas.consume(key, 'requests', 1)).toEqual({ allowed: true, quota: null, retryAfter: 0 });
    expect(await quotas.consume(consumerKey(), 'requests', 1)).toMatchObject({ allowed: true, quota: null });
    expect(reader.reads).toHaveLength(0);
  });

  it('seeds once from the recorded usage of the period, then admits exactly up to the limit', async () => {
    const reader = new FakeReader();
    reader.usage.set('cons_1:requests', 7);
    const clock = new FakeClock(FEB_15);
    const { quotas } = service({ clock, reader });
    const key = consumerKey({ quotas: requests(10) });

    const first = await Promise.all([1, 2, 3].map(() => quotas.consume(key, 'requests', 1)));
    expect(reader.reads).toEqual([['cons_1', 'requests', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z']]);
    expect(first.map((d) => d.allowed)).toEqual([true, true, true]);
    const refused = await quotas.consume(key, 'requests', 1);
    expect(refused).toEqual({
      allowed: false,
      quota: { metric: 'requests', limit: 10, used: 10, remaining: 0, periodEnd: '2026-03-01T00:00:00.000Z' },
      retryAfter: (Date.UTC(2026, 2, 1) - FEB_15) / 1000,
    });
    // A refused request is not served, so it is not counted.
    expect((await quotas.peek(key, 'requests')).quota!.used).toBe(10);
  });

  it('takes a cost only when all of it fits, and peeks without consuming', async () => {
    const reader = new FakeReader();
    const { quotas } = service({ clock: new FakeClock(FEB_15), reader });
    const key = consumerKey({ quotas: [{ metric: 'tokens', limit: 100, period: 'month' }] });
    expect(await quotas.consume(key, 'tokens', 60)).toMatchObject({ allowed: true, quota: { used: 60, remaining: 40 } });
    expect(await quotas.consume(key, 'tokens', 41)).toMatchObject({ allowed: false, quota: { used: 60, remaining: 40 } });
    expect(await quotas.consume(key, 'tokens', 40)).toMatchObject({ allowed: true, quota: { used: 100, remaining: 0 } });
    expect(await quotas.peek(key, 'tokens')).toMatchObject({ allowed: false, quota: { used: 100 } });
    await expect(quotas.consume(key, 'tokens', -1)).rejects.toThrow(RangeError);
  });

  it('starts the next period from its own recorded usage', async () => {
    const reader = new FakeReader();
    const clock = new FakeClock(FEB_15);
    const { quotas } = service({ clock, reader });
    const key = consumerKey({ quotas: requests(2) });
    await quotas.consume(key, 'requests', 1);
    await quotas.consume(key, 'requests', 1);
    expect((await quotas.consume(key, 'requests', 1)).allowed).toBe(false);

    clock.t = Date.UTC(2026, 2, 1) - 1;
    expect((await quotas.consume(key, 'requests', 1)).allowed).toBe(false);
    clock.t = Date.UTC(2026, 2, 1);
    const fresh = await quotas.consume(key, 'requests', 1);
    expect(fresh).toMatchObject({ allowed: true, quota: { used: 1, periodEnd: '2026-04-01T00:00:00.000Z' } });
    expect(reader.reads.at(-1)).toEqual(['cons_1', 'requests', '2026-03-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z']);
  });

  it("follows the consumer's anchor day and first period", async () => {
    const reader = new FakeReader();
    const createdAt = Date.UTC(2026, 1, 10, 9, 30);
    const { quotas } = service({ clock: new FakeClock(Date.UTC(2026, 1, 12)), reader });
    const key = consumerKey({ quotas: requests(5), anchorDay: 15, createdAt });
    expect((await quotas.peek(key, 'requests')).quota!.periodEnd).toBe('2026-02-15T00:00:00.000Z');
    expect(reader.reads[0].slice(2)).toEqual(['2026-02-10T09:30:00.000Z', '2026-02-15T00:00:00.000Z']);
  });

  it('admits and counts locally while the database cannot be read, and seeds once it can', async () => {
    const reader = new FakeReader();
    reader.failing = true;
    reader.usage.set('cons_1:requests', 50);
    const clock = new FakeClock(FEB_15);
    const { quotas } = service({ clock, reader });
    const key = consumerKey({ quotas: requests(52) });
    expect(await quotas.consume(key, 'requests', 1)).toMatchObject({ allowed: true, quota: { used: 1 } });
    expect(await quotas.consume(key, 'requests', 1)).toMatchObject({ allowed: true, quota: { used: 2 } });
    expect(reader.reads).toHaveLength(1);

    reader.failing = false;
    clock.t += 1_000;
    expect(await quotas.consume(key, 'requests', 1)).toMatchObject({ allowed: true, quota: { used: 51 } });
    expect(await quotas.consume(key, 'requests', 1)).toMatchObject({ allowed: true, quota: { used: 52 } });
    expect((await quotas.consume(key, 'requests', 1)).allowed).toBe(false);
    expect(reader.reads).toHaveLength(2);
  });

  it('lists every quota of the plan, and records decisions', async () => {
    const reader = new FakeReader();
    const { quotas, metrics } = service({ clock: new FakeClock(FEB_15), reader });
    const key = consumerKey({
      quotas: [
        { metric: 'requests', limit: 1, period: 'month' },
        { metric: 'sms', limit: 10, period: 'month' },
      ],
    });
    await quotas.consume(key, 'requests', 1);
    await quotas.consume(key, 'requests', 1);
    expect(await quotas.peekAll(key)).toEqual([
      { metric: 'requests', limit: 1, used: 1, remaining: 0, periodEnd: '2026-03-01T00:00:00.000Z' },
      { metric: 'sms', limit: 10, used: 0, remaining: 10, periodEnd: '2026-03-01T00:00:00.000Z' },
    ]);
    expect(await metricValue(metrics.rateLimitDecisions, { decision: 'allowed', kind: 'quota' })).toBe(1);
    expect(await metricValue(metrics.rateLimitDecisions, { decision: 'limited', kind: 'quota' })).toBe(1);
  });
});

describe('QuotaService (Redis)', () => {
  const clients: Redis[] = [];
  const prefix = `tollgate-test:${randomUUID()}:`;
  let admin: Redis;

  function connect(url = REDIS_URL): Redis {
    const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 500, disconnectTimeout: 50 });
    client.on('error', () => undefined);
    clients.push(client);
    return client;
  }

  async function ready(client: Redis): Promise<Redis> {
    if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    return client;
  }

  beforeAll(async () => {
    admin = await ready(connect());
  });

  afterAll(async () => {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    for (const c of clients) c.disconnect();
  });

  it('shares one counter between instances, admitting exactly the limit under concurrency', async () => {
    const reader = new FakeReader();
    reader.usage.set('cons_shared:requests', 5);
    const clock = new FakeClock(Date.now());
    const a = service({ clock, reader, redis: await ready(connect()), prefix }).quotas;
    const b = service({ clock, reader, redis: await ready(connect()), prefix }).quotas;
    const key = consumerKey({ consumerId: 'cons_shared', quotas: requests(25), createdAt: Date.UTC(2020, 0, 1) });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).consume(key, 'requests', 1)));
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect((await a.peek(key, 'requests')).quota!.used).toBe(25);
    expect((await b.peek(key, 'requests')).quota!.used).toBe(25);
  });

  it('seeds the shared counter from the database once, expiring a day after the period', async () => {
    const reader = new FakeReader();
    reader.usage.set('cons_seed:requests', 3);
    const now = new Date();
    const periodStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const periodEnd = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const clock = new FakeClock(now.getTime());
    const a = service({ clock, reader, redis: await ready(connect()), prefix }).quotas;
    const b = service({ clock, reader, redis: await ready(connect()), prefix }).quotas;
    const key = consumerKey({ consumerId: 'cons_seed', quotas: requests(100), createdAt: Date.UTC(2020, 0, 1) });
    expect((await a.consume(key, 'requests', 1)).quota!.used).toBe(4);
    expect((await b.consume(key, 'requests', 1)).quota!.used).toBe(5);
    expect(reader.reads).toHaveLength(1);
    const redisKey = `${prefix}quota:cons_seed:requests:${periodStart}`;
    expect(await admin.get(redisKey)).toBe('5');
    expect(Number(await admin.pexpiretime(redisKey))).toBe(periodEnd + 86_400_000);
  });

  it('counts locally while Redis is down, reports it, and hands the local count over when it is back', async () => {
    const reader = new FakeReader();
    const clock = new FakeClock(Date.now());
    const client = await ready(connect());
    const { quotas, metrics } = service({ clock, reader, redis: client, prefix });
    const other = service({ clock, reader, redis: await ready(connect()), prefix }).quotas;
    const key = consumerKey({ consumerId: 'cons_outage', quotas: requests(10), createdAt: Date.UTC(2020, 0, 1) });

    expect((await quotas.consume(key, 'requests', 3)).quota!.used).toBe(3);
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.disconnect();
    await ended;

    // Goes on from the last value it saw, without a database read, and says so.
    expect((await quotas.consume(key, 'requests', 2)).quota!.used).toBe(5);
    expect(await metricValue(metrics.redisDegraded)).toBe(1);
    expect(await metricValue(metrics.redisOutages)).toBe(1);
    expect((await quotas.consume(key, 'requests', 1)).quota!.used).toBe(6);
    expect(reader.reads).toHaveLength(1);
    // Meanwhile another instance, still connected, adds to the shared counter.
    expect((await other.consume(key, 'requests', 1)).quota!.used).toBe(4);

    await client.connect();
    await ready(client);
    clock.t += 1_000;
    // Shared 4 + the 3 admitted locally + this 1.
    expect((await quotas.consume(key, 'requests', 1)).quota!.used).toBe(8);
    expect(await metricValue(metrics.redisDegraded)).toBe(0);
    expect((await other.peek(key, 'requests')).quota!.used).toBe(8);
    expect(await metricValue(metrics.redisOutages)).toBe(1);
  });

  it('answers at once from local counters when Redis is unreachable from the start', async () => {
    const reader = new FakeReader();
    reader.usage.set('cons_dead:requests', 1);
    const { quotas } = service({ clock: new FakeClock(Date.now()), reader, redis: connect(DEAD_URL), prefix });
    const key = consumerKey({ consumerId: 'cons_dead', quotas: requests(3), createdAt: Date.UTC(2020, 0, 1) });
    const started = Date.now();
    const verdicts = [];
    for (let i = 0; i < 3; i++) verdicts.push((await quotas.consume(key, 'requests', 1)).allowed);
    expect(verdicts).toEqual([true, true, false]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
