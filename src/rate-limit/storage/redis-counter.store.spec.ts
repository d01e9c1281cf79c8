import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { LimitCheck } from './counter-store';
import { MemoryCounterStore } from './memory-counter.store';
import { RedisCounterStore } from './redis-counter.store';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Nothing listens here: a stand-in for Redis being down. */
const DEAD_URL = 'redis://127.0.0.1:6399';

/** The way the app creates the limiter's connection: fail fast rather than queue while disconnected. */
function connect(url = REDIS_URL): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    lazyConnect: false,
    // disconnect() arms a timer (2 s by default) to destroy a socket that never closes; on a refused
    // connection the socket is already gone, so the timer would only keep jest alive after the suite.
    disconnectTimeout: 50,
  });
  // Connection errors are expected in the outage tests; without a listener ioredis prints each one.
  client.on('error', () => undefined);
  return client;
}

async function ready(client: Redis): Promise<Redis> {
  if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  return client;
}

const check = (key: string, limit: number, windowMs: number, cost = 1): LimitCheck => ({ key, limit, windowMs, cost });

const quietLogger = (): { warn: jest.Mock } => ({ warn: jest.fn() });

describe('RedisCounterStore', () => {
  const prefix = `tollgate-test:rl:${randomUUID()}:`;
  const clients: Redis[] = [];
  let admin: Redis;

  /** A connection closed after the suite. */
  function track(client: Redis): Redis {
    clients.push(client);
    return client;
  }

  function store(client: Redis, extra: Partial<ConstructorParameters<typeof RedisCounterStore>[1]> = {}): RedisCounterStore {
    return new RedisCounterStore(client, { prefix, fallback: new MemoryCounterStore(), logger: quietLogger(), ...extra });
  }

  beforeAll(async () => {
    admin = await ready(track(connect()));
  });

  afterAll(async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) await admin.del(...keys);
    for (const client of clients) client.disconnect();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('allows exactly `limit` hits in a window, then refuses', async () => {
    const s = store(admin);
    const results = [];
    for (let i = 0; i < 7; i++) results.push((await s.hit([check('seq', 5, 60_000)]))[0]);
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(results.map((r) => r.used)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(results[6]).toMatchObject({ key: 'seq', limit: 5, remaining: 0 });
    expect(s.degraded).toBe(false);
  });

  it('allows exactly N of 3N concurrent hits across several connections', async () => {
    const conns = await Promise.all([1, 2, 3, 4].map(() => ready(track(connect()))));
    const stores = conns.map((c) => store(c));
    const n = 50;
    const results = await Promise.all(
      Array.from({ length: 3 * n }, (_, i) => stores[i % stores.length].hit([check('concurrent', n, 60_000)])),
    );
    const flat = results.map(([r]) => r);
    expect(flat.filter((r) => r.allowed)).toHaveLength(n);
    // Atomic increments: every count from 1 to 3N is handed out exactly once.
    expect(flat.map((r) => r.used).sort((a, b) => a - b)).toEqual(Array.from({ length: 3 * n }, (_, i) => i + 1));
    expect(stores.every((s) => !s.degraded)).toBe(true);
  });

  it('makes one round trip per hit, whatever the number of checks', async () => {
    const client = await ready(track(connect()));
    const s = store(client);
    const checks = [check('rt:a', 10, 60_000), check('rt:b', 10, 60_000), check('rt:c', 10, 60_000, 0)];
    // Loads the script first, so that the one-time EVALSHA → NOSCRIPT → EVAL exchange is not counted.
    await s.hit(checks);

    const monitor = track(await admin.monitor());
    const seen: Array<{ args: string[]; source: string }> = [];
    const marker = `${prefix}marker`;
    const markerSeen = new Promise<void>((resolve) => {
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        seen.push({ args, source });
        if (args.includes(marker)) resolve();
      });
    });

    for (let i = 0; i < 5; i++) await s.hit(checks);
    // Monitor output is asynchronous: a last command from the same client marks the end of the stream.
    await client.exists(marker);
    await markerSeen;

    const fromClient = seen.filter((e) => e.source !== 'lua' && !e.args.includes(marker));
    expect(fromClient.map((e) => e.args[0].toLowerCase())).toEqual(Array(5).fill('evalsha'));
    // The script did the work: two increments and a peek per hit.
    expect(seen.filter((e) => e.source === 'lua' && e.args[0].toLowerCase() === 'incrby')).toHaveLength(10);
  });

  it("sends the throttler's increments of one tick (all named limits of a request) as one script call", async () => {
    const client = await ready(track(connect()));
    const s = store(client);
    await s.increment('tick:warm', 60_000, 10, 60_000, 'warm');
    const sent = jest.spyOn(s as unknown as { send: (checks: unknown[]) => Promise<number[]> }, 'send');
    const [a, b, peek] = await Promise.all([
      s.increment('tick:a', 60_000, 1, 60_000, 'a'),
      s.increment('tick:b', 1_000, 5, 1_000, 'b'),
      s.peek('tick:a', 60_000, 1),
    ]);
    expect(sent).toHaveBeenCalledTimes(1);
    expect(sent.mock.calls[0][0]).toHaveLength(3);
    expect(a).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60, firstExceeded: false });
    expect(b).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 1 });
    // The peek comes after the increment in the same script: one more would be refused.
    expect(peek).toMatchObject({ totalHits: 1, isBlocked: true });
    const over = await s.increment('tick:a', 60_000, 1, 60_000, 'a');
    expect(over).toMatchObject({ totalHits: 2, isBlocked: true, timeToBlockExpire: 60, firstExceeded: true });
    expect((await s.increment('tick:a', 60_000, 1, 60_000, 'a')).firstExceeded).toBe(false);
  });

  it('answers increments from the fallback while degraded, without waiting for a tick', async () => {
    const s = store(track(connect(DEAD_URL)));
    expect(await s.increment('inc-down', 60_000, 1, 60_000, 'x')).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(s.degraded).toBe(true);
    expect(await s.increment('inc-down', 60_000, 1, 60_000, 'x')).toMatchObject({ totalHits: 2, isBlocked: true });
    await expect(s.increment('inc-down', 60_000, -1, 60_000, 'x')).rejects.toThrow(RangeError);
  });

  it('applies several named checks in one call, in order, with their own limits and windows', async () => {
    const s = store(admin);
    const checks = [check('multi:plan', 3, 60_000), check('multi:key', 1, 2_000, 2)];
    const first = await s.hit(checks);
    expect(first.map((r) => [r.key, r.used, r.remaining, r.allowed])).toEqual([
      ['multi:plan', 1, 2, true],
      ['multi:key', 2, 0, false],
    ]);
    expect(first[0].resetMs).toBeGreaterThan(59_000);
    expect(first[1].resetMs).toBeLessThanOrEqual(2_000);
    const second = await s.hit(checks);
    expect(second.map((r) => r.used)).toEqual([2, 4]);
  });

  it('peeks with cost 0 without consuming or creating a counter', async () => {
    const s = store(admin);
    expect((await s.hit([check('peek', 2, 5_000, 0)]))[0]).toEqual({
      key: 'peek',
      limit: 2,
      used: 0,
      remaining: 2,
      resetMs: 5_000,
      allowed: true,
    });
    expect(await admin.exists(`${prefix}peek`)).toBe(0);
    await s.hit([check('peek', 2, 5_000)]);
    await s.hit([check('peek', 2, 5_000, 0)]);
    await s.hit([check('peek', 2, 5_000, 0)]);
    expect((await s.hit([check('peek', 2, 5_000, 0)]))[0]).toMatchObject({ used: 1, remaining: 1, allowed: true });
    await s.hit([check('peek', 2, 5_000)]);
    expect((await s.hit([check('peek', 2, 5_000, 0)]))[0]).toMatchObject({ used: 2, allowed: false });
  });

  it('sets the TTL on the first hit and does not extend it on later hits', async () => {
    const s = store(admin);
    const [first] = await s.hit([check('ttl', 10, 10_000)]);
    expect(first.resetMs).toBe(10_000);
    const ttl1 = await admin.pttl(`${prefix}ttl`);
    expect(ttl1).toBeGreaterThan(9_000);
    expect(ttl1).toBeLessThanOrEqual(10_000);
    await new Promise((r) => setTimeout(r, 50));
    const [second] = await s.hit([check('ttl', 10, 10_000)]);
    const ttl2 = await admin.pttl(`${prefix}ttl`);
    expect(ttl2).toBeLessThanOrEqual(ttl1 - 40);
    expect(second.resetMs).toBeLessThanOrEqual(ttl1 - 40);
  });

  it('gives a counter left without a TTL one on the next hit', async () => {
    await admin.set(`${prefix}no-ttl`, '3');
    const s = store(admin);
    expect((await s.hit([check('no-ttl', 10, 5_000)]))[0]).toMatchObject({ used: 4, resetMs: 5_000 });
    expect(await admin.pttl(`${prefix}no-ttl`)).toBeGreaterThan(0);
  });

  it('starts a new window once the previous one has expired', async () => {
    const s = store(admin);
    expect((await s.hit([check('window', 1, 150)]))[0].allowed).toBe(true);
    expect((await s.hit([check('window', 1, 150)]))[0].allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect((await s.hit([check('window', 1, 150)]))[0]).toMatchObject({ used: 1, allowed: true });
  });

  it('rejects an invalid check without treating it as an outage', async () => {
    const onDegraded = jest.fn();
    const s = store(admin, { onDegraded });
    await expect(s.hit([check('bad', 1, 0)])).rejects.toThrow(RangeError);
    expect(onDegraded).not.toHaveBeenCalled();
    expect(s.degraded).toBe(false);
  });

  it('answers from the fallback at once when Redis is down, and reports the outage once', async () => {
    const dead = track(connect(DEAD_URL));
    const onDegraded = jest.fn();
    const logger = quietLogger();
    const s = store(dead, { onDegraded, logger });

    const started = Date.now();
    const results = [];
    for (let i = 0; i < 4; i++) results.push((await s.hit([check('down', 3, 60_000)]))[0]);
    expect(Date.now() - started).toBeLessThan(1_000);

    expect(results.map((r) => [r.used, r.allowed])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ]);
    expect(s.degraded).toBe(true);
    expect(onDegraded).toHaveBeenCalledTimes(1);
    expect(onDegraded.mock.calls[0][0]).toBeInstanceOf(Error);
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  it('reports one outage when many concurrent calls fail together', async () => {
    const dead = track(connect(DEAD_URL));
    const onDegraded = jest.fn();
    const s = store(dead, { onDegraded });
    const results = await Promise.all(Array.from({ length: 20 }, () => s.hit([check('down-many', 10, 60_000)])));
    expect(results.filter(([r]) => r.allowed)).toHaveLength(10);
    expect(onDegraded).toHaveBeenCalledTimes(1);
  });

  it('tries Redis at most once per second while degraded', async () => {
    let now = 1_700_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const client = track(connect(DEAD_URL));
    const s = store(client);
    const sent = jest.spyOn(s as unknown as { send: () => Promise<number[]> }, 'send');

    for (let i = 0; i < 50; i++) await s.hit([check('probe', 100, 60_000)]);
    expect(sent).toHaveBeenCalledTimes(1);

    now += 999;
    for (let i = 0; i < 50; i++) await s.hit([check('probe', 100, 60_000)]);
    expect(sent).toHaveBeenCalledTimes(1);

    now += 1;
    await Promise.all(Array.from({ length: 50 }, () => s.hit([check('probe', 100, 60_000)])));
    expect(sent).toHaveBeenCalledTimes(2);
    expect(s.degraded).toBe(true);
  });

  it('recovers when Redis answers again, and resumes the counters held there', async () => {
    let now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const client = await ready(track(connect()));
    const onDegraded = jest.fn();
    const onRecovered = jest.fn();
    const fallback = new MemoryCounterStore();
    const s = new RedisCounterStore(client, { prefix, fallback, onDegraded, onRecovered, logger: quietLogger() });

    expect((await s.hit([check('recover', 100, 60_000)]))[0].used).toBe(1);
    expect((await s.hit([check('recover', 100, 60_000)]))[0].used).toBe(2);

    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.disconnect();
    expect((await s.hit([check('recover', 100, 60_000)]))[0].used).toBe(1);
    expect(s.degraded).toBe(true);
    expect(onDegraded).toHaveBeenCalledTimes(1);

    await ended;
    await client.connect();
    await ready(client);
    // Within the probe interval the fallback still answers, even though Redis is back.
    expect((await s.hit([check('recover', 100, 60_000)]))[0].used).toBe(2);
    expect(onRecovered).not.toHaveBeenCalled();

    now += 1_000;
    expect((await s.hit([check('recover', 100, 60_000)]))[0].used).toBe(3);
    expect(s.degraded).toBe(false);
    expect(onRecovered).toHaveBeenCalledTimes(1);
    expect((await s.hit([check('recover', 100, 60_000)]))[0].used).toBe(4);
    expect(onDegraded).toHaveBeenCalledTimes(1);
    expect(onRecovered).toHaveBeenCalledTimes(1);
  });

  it('ignores a late answer from before an outage when deciding recovery', async () => {
    let now = 1_700_000_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const pending: Array<{ resolve: (v: number[]) => void; reject: (e: Error) => void }> = [];
    const stub = {
      defineCommand(name: string): void {
        (this as unknown as Record<string, unknown>)[name] = () =>
          new Promise<number[]>((resolve, reject) => pending.push({ resolve, reject }));
      },
    };
    const onDegraded = jest.fn();
    const onRecovered = jest.fn();
    const s = store(stub as unknown as Redis, { onDegraded, onRecovered });

    const slow = s.hit([check('late', 10, 60_000)]);
    const failing = s.hit([check('late', 10, 60_000)]);
    pending[1].reject(new Error('Command timed out'));
    await failing;
    expect(s.degraded).toBe(true);

    pending[0].resolve([1, 60_000]);
    expect((await slow)[0].used).toBe(1);
    expect(s.degraded).toBe(true);
    expect(onRecovered).not.toHaveBeenCalled();

    now += 1_000;
    const probe = s.hit([check('late', 10, 60_000)]);
    pending[2].resolve([2, 59_000]);
    expect((await probe)[0]).toMatchObject({ used: 2, resetMs: 59_000 });
    expect(s.degraded).toBe(false);
    expect(onDegraded).toHaveBeenCalledTimes(1);
    expect(onRecovered).toHaveBeenCalledTimes(1);
  });
});
