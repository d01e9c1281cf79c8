import type { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/env.validation';
import { RateLimitService } from './rate-limit.service';
import { MemoryCounterStore } from './storage';
import { adminKey, consumerKey } from './testing/auth-keys';
import { limiterMetrics, metricValue } from './testing/metrics';

class FakeClock {
  t = 1_700_000_000_000;
  readonly now = (): number => this.t;
}

function setup(defaults = { DEFAULT_RATE_LIMIT: 3, DEFAULT_RATE_LIMIT_WINDOW_SECONDS: 60 }) {
  const clock = new FakeClock();
  const store = new MemoryCounterStore({ now: clock.now });
  const { metrics, limiter } = limiterMetrics();
  const config = { get: (name: keyof typeof defaults) => defaults[name] } as unknown as ConfigService<EnvironmentVariables, true>;
  return { clock, store, metrics, service: new RateLimitService(store, limiter, config) };
}

function headers(): { set: Record<string, string | number>; header(name: string, value: string | number): void } {
  const set: Record<string, string | number> = {};
  return { set, header: (name, value) => void (set[name] = value) };
}

describe('RateLimitService', () => {
  it('lets exactly the limit through, then refuses, with every limit of the key in one store call', async () => {
    const { service, store } = setup();
    const spy = jest.spyOn(store, 'hitSync');
    const key = consumerKey({ keyLimits: [{ name: 'burst', limit: 5, windowSeconds: 1 }] });
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push((await service.hit(key, 1)).allowed);
    expect(verdicts).toEqual([true, true, true, false]);
    expect(spy).toHaveBeenCalledTimes(4);
    expect(spy.mock.calls[0][0]).toHaveLength(2);
  });

  it('shares the consumer-wide limit between keys of one consumer, and keeps key limits apart', async () => {
    const { service } = setup();
    const a = consumerKey({ id: 'key_a', keyLimits: [{ name: 'own', limit: 100, windowSeconds: 60 }] });
    const b = consumerKey({ id: 'key_b', keyLimits: [{ name: 'own', limit: 100, windowSeconds: 60 }] });
    await service.hit(a, 1);
    await service.hit(a, 1);
    const third = await service.hit(b, 1);
    expect(service.states(third)).toEqual([
      { name: 'default', limit: 3, remaining: 0, reset: 60 },
      { name: 'own', limit: 100, remaining: 99, reset: 60 },
    ]);
    expect((await service.hit(b, 1)).allowed).toBe(false);
  });

  it('peeks with cost 0 without consuming', async () => {
    const { service } = setup();
    const key = consumerKey();
    await service.hit(key, 1);
    for (let i = 0; i < 5; i++) expect(service.states(await service.hit(key, 0))[0].remaining).toBe(2);
  });

  it('sets the draft-11 headers for every limit and X-RateLimit-* for the most restrictive', async () => {
    const { service, clock } = setup();
    const key = consumerKey({ keyLimits: [{ name: 'burst', limit: 2, windowSeconds: 10 }] });
    const first = await service.hit(key, 1);
    clock.t += 4_200;
    const second = await service.hit(key, 1);
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
    const { service } = setup();
    const key = consumerKey({
      plan: true,
      planLimits: [
        { name: 'second', limit: 1, windowSeconds: 1 },
        { name: 'minute', limit: 1, windowSeconds: 60 },
        { name: 'hour', limit: 100, windowSeconds: 3600 },
      ],
    });
    await service.hit(key, 1);
    const refused = await service.hit(key, 1);
    expect(refused.allowed).toBe(false);
    const h = headers();
    service.setHeaders(h, refused);
    expect(h.set['X-RateLimit-Limit']).toBe(1);
    expect(h.set['X-RateLimit-Reset']).toBe(60);
    expect(service.retryAfter(refused)).toBe(60);
    const err = service.exceeded(refused);
    expect(err.code).toBe('RATE_LIMIT_EXCEEDED');
    expect(err.status).toBe(429);
    expect(err.extra.retryAfter).toBe(60);
    expect(err.message).toContain('"minute"');
  });

  it('applies the default per admin key', async () => {
    const { service } = setup();
    const a = adminKey({ id: 'key_x' });
    const b = adminKey({ id: 'key_y' });
    for (let i = 0; i < 3; i++) await service.hit(a, 1);
    expect((await service.hit(a, 1)).allowed).toBe(false);
    expect((await service.hit(b, 1)).allowed).toBe(true);
  });

  it('builds a policy once per key record, and anew for a changed record', () => {
    const { service } = setup();
    const key = consumerKey();
    expect(service.policyFor(key)).toBe(service.policyFor(key));
    const changed = { ...key, rateLimits: [{ name: 'new', limit: 1, windowSeconds: 1 }] };
    expect(service.policyFor(changed).limits.map((l) => l.name)).toEqual(['default', 'new']);
  });

  it('answers synchronously from the in-process store, and through a promise from any other', async () => {
    const { service } = setup();
    const key = consumerKey();
    expect(service.apply(key, 1)).not.toBeInstanceOf(Promise);
    const memory = new MemoryCounterStore();
    const remote = { name: 'remote', hit: (checks: Parameters<MemoryCounterStore['hit']>[0]) => memory.hit(checks) };
    const config = { get: (name: string) => ({ DEFAULT_RATE_LIMIT: 1, DEFAULT_RATE_LIMIT_WINDOW_SECONDS: 60 })[name] };
    const viaPromise = new RateLimitService(remote, limiterMetrics().limiter, config as never);
    const pending = viaPromise.apply(key, 1);
    expect(pending).toBeInstanceOf(Promise);
    expect((await pending).allowed).toBe(true);
    expect((await viaPromise.hit(key, 1)).allowed).toBe(false);
  });

  it('counts decisions, not peeks', async () => {
    const { service, metrics } = setup();
    const key = consumerKey();
    for (let i = 0; i < 5; i++) await service.hit(key, 1);
    await service.hit(key, 0);
    expect(await metricValue(metrics.rateLimitDecisions, { decision: 'allowed', kind: 'rate' })).toBe(3);
    expect(await metricValue(metrics.rateLimitDecisions, { decision: 'limited', kind: 'rate' })).toBe(2);
  });
});
