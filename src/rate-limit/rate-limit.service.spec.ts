import type { AuthKey } from '../auth/auth-key';
import { RateLimitService } from './rate-limit.service';
import { MemoryCounterStore } from './storage';
import { adminKey, consumerKey } from '../../test/support/auth-keys';
import { limiterMetrics, metricValue } from '../../test/support/limiter-metrics';

class FakeClock {
  t = 1_700_000_000_000;
  readonly now = (): number => this.t;
}

function setup(defaults = { limit: 3, ttl: 60_000 }) {
  const clock = new FakeClock();
  const store = new MemoryCounterStore({ now: clock.now });
  const { metrics, limiter } = limiterMetrics();
  const service = new RateLimitService(store, limiter, { throttlers: [{ name: 'default', ...defaults }] });
  const hit = (key: AuthKey, cost: 0 | 1) => (cost === 0 ? service.peek(key) : service.consume(key));
  return { clock, store, metrics, service, hit };
}

function headers(): { set: Record<string, string | number>; header(name: string, value: string | number): void } {
  const set: Record<string, string | number> = {};
  return { set, header: (name, value) => void (set[name] = value) };
}

describe('RateLimitService', () => {
  it('lets exactly the limit through, then refuses, with one storage increment per limit of the key', async () => {
    const { hit, store } = setup();
    const spy = jest.spyOn(store, 'incrementSync');
    const key = consumerKey({ keyLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }] });
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push((await hit(key, 1)).allowed);
    expect(verdicts).toEqual([true, true, true, false]);
    expect(spy).toHaveBeenCalledTimes(8);
    expect(spy.mock.calls.slice(0, 2).map((c) => c.slice(0, 3))).toEqual([
      ['{cons_1}c:cons_1:default:60', 60_000, 3],
      ['{cons_1}k:key_1:burst:1', 1_000, 5],
    ]);
  });

  it('shares the consumer-wide limit between keys of one consumer, and keeps key limits apart', async () => {
    const { service, hit } = setup();
    const a = consumerKey({ id: 'key_a', keyLimits: [{ name: 'own', limit: 100, windowSeconds: 60 }] });
    const b = consumerKey({ id: 'key_b', keyLimits: [{ name: 'own', limit: 100, windowSeconds: 60 }] });
    await hit(a, 1);
    await hit(a, 1);
    const third = await hit(b, 1);
    expect(service.states(third)).toEqual([
      { name: 'default', limit: 3, windowSeconds: 60, remaining: 0, reset: 60 },
      { name: 'own', limit: 100, windowSeconds: 60, remaining: 99, reset: 60 },
    ]);
    expect((await hit(b, 1)).allowed).toBe(false);
  });

  it('peeks with cost 0 without consuming', async () => {
    const { service, hit } = setup();
    const key = consumerKey();
    await hit(key, 1);
    for (let i = 0; i < 5; i++) expect(service.states(await hit(key, 0))[0].remaining).toBe(2);
  });

  it('sets the draft-11 headers for every limit and X-RateLimit-* for the most restrictive', async () => {
    const { service, hit, clock } = setup();
    const key = consumerKey({ keyLimits: [{ name: 'burst', limit: 2, windowSeconds: 10 }] });
    const first = await hit(key, 1);
    clock.t += 4_200;
    const second = await hit(key, 1);
    const h = headers();
    service.setHeaders(h, second);
    expect(h.set).toEqual({
      'RateLimit-Policy': '"default";q=3;w=60, "burst";q=2;w=10',
      RateLimit: '"default";r=1;t=56, "burst";r=0;t=6',
      'X-RateLimit-Limit': 2,
      'X-RateLimit-Remaining': 0,
      'X-RateLimit-Reset': 6,
    });
    const h1 = headers();
    service.setHeaders(h1, first);
    // Fewest left wins: 2 of 3 left against 1 of 2 left.
    expect(h1.set['X-RateLimit-Limit']).toBe(2);
  });

  it('reports the refusing limit that frees up last, and waits for it', async () => {
    const { service, hit } = setup();
    const key = consumerKey({
      plan: true,
      planLimits: [
        { name: 'second', limit: 1, windowSeconds: 1 },
        { name: 'minute', limit: 1, windowSeconds: 60 },
        { name: 'hour', limit: 100, windowSeconds: 3600 },
      ],
    });
    await hit(key, 1);
    const refused = await hit(key, 1);
    expect(refused.allowed).toBe(false);
    const h = headers();
    service.setHeaders(h, refused);
    expect(h.set['X-RateLimit-Limit']).toBe(1);
    expect(h.set['X-RateLimit-Reset']).toBe(60);
    const detail = service.detail(refused);
    expect(detail).toMatchObject({ name: 'minute', retryAfter: 60, limit: 1, isBlocked: true });
    const err = service.exception(detail);
    expect(err.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(err.status).toBe(429);
    expect(err.extra.retryAfter).toBe(60);
    expect(err.message).toContain('"minute"');
  });

  it('applies the default per admin key', async () => {
    const { service, hit } = setup();
    const a = adminKey({ id: 'key_x' });
    const b = adminKey({ id: 'key_y' });
    for (let i = 0; i < 3; i++) await hit(a, 1);
    expect((await hit(a, 1)).allowed).toBe(false);
    expect((await hit(b, 1)).allowed).toBe(true);
  });

  it('builds a policy once per key record, and anew for a changed record', () => {
    const { service, hit } = setup();
    const key = consumerKey();
    expect(service.policyFor(key)).toBe(service.policyFor(key));
    const changed = { ...key, rateLimits: [{ name: 'new', limit: 1, windowSeconds: 1 }] };
    expect(service.policyFor(changed).limits.map((l) => l.name)).toEqual(['default', 'new']);
  });

  it('reports the first refused hit of a window once', async () => {
    const { service, hit, clock } = setup({ limit: 1, ttl: 60_000 });
    const seen: string[] = [];
    service.onFirstExceeded((key, limit) => seen.push(`${key.id}:${limit.name}`));
    const key = consumerKey();
    for (let i = 0; i < 4; i++) await hit(key, 1);
    expect(seen).toEqual(['key_1:default']);
    clock.t += 60_000;
    for (let i = 0; i < 3; i++) await hit(key, 1);
    expect(seen).toEqual(['key_1:default', 'key_1:default']);
  });

  it('counts decisions, not peeks', async () => {
    const { service, hit, metrics } = setup();
    const key = consumerKey();
    for (let i = 0; i < 5; i++) await hit(key, 1);
    await hit(key, 0);
    expect(await metricValue(metrics.rateLimitDecisions, { decision: 'allowed', kind: 'rate' })).toBe(3);
    expect(await metricValue(metrics.rateLimitDecisions, { decision: 'limited', kind: 'rate' })).toBe(2);
  });
});
