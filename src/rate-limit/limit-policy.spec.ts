import { buildPolicy, resolveLimits, sfString } from './limit-policy';
import { adminKey, consumerKey } from '../../test/support/auth-keys';

const defaults = { limit: 1000, windowSeconds: 60 };

describe('resolveLimits', () => {
  it('gives a consumer without a plan the default, counted for the whole consumer', () => {
    expect(resolveLimits(consumerKey({ consumerId: 'cons_a' }), defaults)).toMatchObject([
      { name: 'default', limit: 1000, windowSeconds: 60, scope: 'consumer', counterKey: '{cons_a}c:cons_a:default:60' },
    ]);
  });

  it('gives a plan without rate limits the default too', () => {
    expect(resolveLimits(consumerKey({ plan: true, planLimits: [] }), defaults).map((l) => l.name)).toEqual(['default']);
  });

  it("replaces the default with the plan's limits, one counter per consumer whichever key calls", () => {
    const planLimits = [
      { name: 'per-second', limit: 20, windowSeconds: 1 },
      { name: 'per-minute', limit: 1000, windowSeconds: 60 },
    ];
    const a = resolveLimits(consumerKey({ id: 'key_a', consumerId: 'cons_1', planLimits }), defaults);
    const b = resolveLimits(consumerKey({ id: 'key_b', consumerId: 'cons_1', planLimits }), defaults);
    expect(a.map((l) => [l.name, l.scope, l.counterKey])).toEqual([
      ['per-second', 'consumer', '{cons_1}c:cons_1:per-second:1'],
      ['per-minute', 'consumer', '{cons_1}c:cons_1:per-minute:60'],
    ]);
    expect(b.map((l) => l.counterKey)).toEqual(a.map((l) => l.counterKey));
  });

  it("adds a key's own limits, counted for that key alone, without lifting the consumer's", () => {
    const limits = resolveLimits(
      consumerKey({ id: 'key_a', consumerId: 'cons_1', keyLimits: [{ name: 'burst', limit: 1_000_000, windowSeconds: 1 }] }),
      defaults,
    );
    expect(limits.map((l) => [l.name, l.limit, l.scope, l.counterKey])).toEqual([
      ['default', 1000, 'consumer', '{cons_1}c:cons_1:default:60'],
      ['burst', 1_000_000, 'key', '{cons_1}k:key_a:burst:1'],
    ]);
  });

  it('keeps names unique when a key limit is named like a plan limit, on separate counters', () => {
    const limits = resolveLimits(
      consumerKey({
        id: 'key_a',
        planLimits: [{ name: 'minute', limit: 100, windowSeconds: 60 }],
        keyLimits: [{ name: 'minute', limit: 10, windowSeconds: 60 }],
      }),
      defaults,
    );
    expect(limits.map((l) => [l.name, l.counterKey])).toEqual([
      ['minute', '{cons_1}c:cons_1:minute:60'],
      ['key:minute', '{cons_1}k:key_a:minute:60'],
    ]);
  });

  it('starts a new counter when a window changes, and keeps it when only the number changes', () => {
    const key = (limit: number, windowSeconds: number) =>
      resolveLimits(consumerKey({ planLimits: [{ name: 'm', limit, windowSeconds }] }), defaults)[0].counterKey;
    expect(key(10, 60)).toBe(key(20, 60));
    expect(key(10, 60)).not.toBe(key(10, 30));
  });

  it('limits admin keys per key: their own limits, else the default', () => {
    expect(resolveLimits(adminKey({ id: 'key_adm' }), defaults)).toMatchObject([
      { name: 'default', limit: 1000, windowSeconds: 60, scope: 'key', counterKey: '{key_adm}k:key_adm:default:60' },
    ]);
    expect(
      resolveLimits(adminKey({ id: 'key_adm', keyLimits: [{ name: 'verify', limit: 50_000, windowSeconds: 1 }] }), defaults),
    ).toMatchObject([{ name: 'verify', limit: 50_000, windowSeconds: 1, scope: 'key', counterKey: '{key_adm}k:key_adm:verify:1' }]);
  });

  it('skips malformed plan rules instead of failing every request', () => {
    const planLimits = [
      { name: 'bad-window', limit: 5, windowSeconds: 0 },
      { name: 'bad-limit', limit: 1.5, windowSeconds: 1 },
      { name: 'ok', limit: 5, windowSeconds: 1 },
    ];
    expect(resolveLimits(consumerKey({ planLimits }), defaults).map((l) => l.name)).toEqual(['ok']);
    const allBad = [{ name: 'x', limit: -1, windowSeconds: 1 }];
    expect(resolveLimits(consumerKey({ planLimits: allBad }), defaults).map((l) => l.name)).toEqual(['default']);
  });
});

describe('buildPolicy', () => {
  it('precomputes the throttler requests and the RateLimit-Policy header', () => {
    const policy = buildPolicy(
      consumerKey({ id: 'key_a', consumerId: 'cons_1', keyLimits: [{ name: 'burst', limit: 20, windowSeconds: 1 }] }),
      defaults,
    );
    expect(policy.limits.map((l) => [l.counterKey, l.limit, l.ttl, l.throttler.name])).toEqual([
      ['{cons_1}c:cons_1:default:60', 1000, 60_000, 'default'],
      ['{cons_1}k:key_a:burst:1', 20, 1_000, 'burst'],
    ]);
    expect(policy.limits.map((l) => l.getTracker({}, {} as never))).toEqual(['c:cons_1', 'k:key_a']);
    expect(policy.policyHeader).toBe('"default";q=1000;w=60, "burst";q=20;w=1');
    expect(policy.itemPrefixes).toEqual(['"default";r=', '"burst";r=']);
  });

  it('writes names as Structured Fields strings', () => {
    expect(sfString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(sfString('grün')).toBe('"gr?n"');
  });
});
