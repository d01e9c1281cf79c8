import type { AuthKey } from './auth-key';
import { KeyCache } from './key-cache';

const key = (id: string, consumerId: string | null = 'cons_1'): AuthKey => ({
  id,
  kind: consumerId ? 'secret' : 'admin',
  name: id,
  environment: 'live',
  scopes: [],
  expiresAt: null,
  revokedAt: null,
  ipMatcher: null,
  allowedOrigins: null,
  rateLimits: [],
  consumer: consumerId ? { id: consumerId, status: 'active', planId: null, billingAnchorDay: 1, createdAt: 0, plan: null } : null,
});

describe('KeyCache', () => {
  let now = 0;
  const make = (over: Partial<ConstructorParameters<typeof KeyCache>[0]> = {}) =>
    new KeyCache({ ttlMs: 1000, staleMs: 5000, max: 3, negativeTtlMs: 1000, negativeMax: 2, ...over }, () => now);

  beforeEach(() => (now = 0));

  it('serves fresh entries, then only stale ones after the TTL, then nothing', () => {
    const c = make();
    c.set('h1', key('k1'));
    expect(c.get('h1')?.id).toBe('k1');
    now = 1000;
    expect(c.get('h1')).toBeUndefined();
    expect(c.getStale('h1')?.id).toBe('k1');
    now = 5000;
    expect(c.getStale('h1')).toBeUndefined();
  });

  it('is bounded and evicts the least recently used', () => {
    const c = make();
    c.set('h1', key('k1'));
    c.set('h2', key('k2'));
    c.set('h3', key('k3'));
    c.get('h1');
    c.set('h4', key('k4'));
    expect(c.size).toBe(3);
    expect(c.get('h2')).toBeUndefined();
    expect(c.get('h1')?.id).toBe('k1');
  });

  it('invalidates by key id and by consumer id', () => {
    const c = make({ max: 10 });
    c.set('h1', key('k1', 'a'));
    c.set('h2', key('k2', 'a'));
    c.set('h3', key('k3', 'b'));
    c.invalidateKey('k3');
    expect(c.get('h3')).toBeUndefined();
    c.invalidateConsumer('a');
    expect(c.get('h1')).toBeUndefined();
    expect(c.get('h2')).toBeUndefined();
    expect(c.getStale('h1')).toBeUndefined();
  });

  it('remembers unknown hashes briefly, in bounded space', () => {
    const c = make();
    c.rememberMissing('x');
    c.rememberMissing('y');
    c.rememberMissing('z');
    expect(c.isKnownMissing('x')).toBe(false);
    expect(c.isKnownMissing('z')).toBe(true);
    now = 1000;
    expect(c.isKnownMissing('z')).toBe(false);
  });

  it('a key created after being guessed is no longer reported missing', () => {
    const c = make();
    c.rememberMissing('h1');
    c.forgetMissing('h1');
    expect(c.isKnownMissing('h1')).toBe(false);
    c.rememberMissing('h2');
    c.set('h2', key('k2'));
    expect(c.isKnownMissing('h2')).toBe(false);
  });

  it('counts hits and misses', () => {
    const c = make();
    c.get('nope');
    c.set('h1', key('k1'));
    c.get('h1');
    expect([c.hits, c.misses]).toEqual([1, 1]);
  });
});
