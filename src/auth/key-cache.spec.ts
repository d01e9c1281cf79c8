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

  it('serves a record while fresh, then serves it and asks for one refresh at a time, then drops it', () => {
    const c = make();
    c.set('h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' });
    const fresh = c.lookup('h1')!;
    expect(fresh.key.id).toBe('k1');
    expect(c.claimRefresh(fresh)).toBe(false);
    now = 1000;
    const old = c.lookup('h1')!;
    expect(old.key.id).toBe('k1');
    expect(c.claimRefresh(old)).toBe(true);
    expect(c.claimRefresh(c.lookup('h1')!)).toBe(false);
    // The refresh failed: still served, retried a little later.
    c.refreshFailed('h1', old);
    expect(c.claimRefresh(c.lookup('h1')!)).toBe(false);
    now = 2000;
    expect(c.claimRefresh(c.lookup('h1')!)).toBe(true);
    now = 5000;
    expect(c.lookup('h1')).toBeUndefined();
  });

  it('is bounded and evicts the least recently used', () => {
    const c = make();
    c.set('h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' });
    c.set('h2', { key: key('k2'), hash: 'stored-h2', version: 'v1' });
    c.set('h3', { key: key('k3'), hash: 'stored-h3', version: 'v1' });
    now = 1000;
    c.lookup('h1');
    c.set('h4', { key: key('k4'), hash: 'stored-h4', version: 'v1' });
    expect(c.size).toBe(3);
    expect(c.lookup('h2')).toBeUndefined();
    expect(c.lookup('h1')?.key.id).toBe('k1');
  });

  it('moves a record in the LRU order at most once a second', () => {
    const c = make({ ttlMs: 10_000, staleMs: 10_000 });
    c.set('h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' });
    c.set('h2', { key: key('k2'), hash: 'stored-h2', version: 'v1' });
    c.set('h3', { key: key('k3'), hash: 'stored-h3', version: 'v1' });
    now = 999;
    c.lookup('h1'); // too soon after it was stored: keeps its place, the oldest
    c.set('h4', { key: key('k4'), hash: 'stored-h4', version: 'v1' });
    expect(c.lookup('h1')).toBeUndefined();
    expect(c.lookup('h2')?.key.id).toBe('k2');
  });

  it('invalidates by key id and by consumer id', () => {
    const c = make({ max: 10 });
    c.set('h1', { key: key('k1', 'a'), hash: 'stored-h1', version: 'v1' });
    c.set('h2', { key: key('k2', 'a'), hash: 'stored-h2', version: 'v1' });
    c.set('h3', { key: key('k3', 'b'), hash: 'stored-h3', version: 'v1' });
    c.invalidateKey('k3');
    expect(c.lookup('h3')).toBeUndefined();
    c.invalidateConsumer('a');
    expect(c.lookup('h1')).toBeUndefined();
    expect(c.lookup('h2')).toBeUndefined();
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
    c.set('h2', { key: key('k2'), hash: 'stored-h2', version: 'v1' });
    expect(c.isKnownMissing('h2')).toBe(false);
  });

  it('counts hits and misses', () => {
    const c = make();
    c.lookup('nope');
    c.set('h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' });
    c.lookup('h1');
    expect([c.hits, c.misses]).toEqual([1, 1]);
  });

  describe('a fill that began before an invalidation cannot land after it', () => {
    it('by key: a read of the key from before its revocation is discarded', () => {
      const c = make({ max: 10 });
      c.set('h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' });
      const ticket = c.beginFill();
      c.invalidateKey('k1');
      expect(c.completeFill(ticket, 'h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' })).toBe(false);
      expect(c.lookup('h1')).toBeUndefined();
      // A read that began after the invalidation lands.
      const later = c.beginFill();
      expect(c.completeFill(later, 'h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' })).toBe(true);
      expect(c.lookup('h1')?.key.id).toBe('k1');
    });

    it('by consumer, by hash and by a full clear', () => {
      const c = make({ max: 10 });
      let t = c.beginFill();
      c.invalidateConsumer('a');
      expect(c.completeFill(t, 'h1', { key: key('k1', 'a'), hash: 'stored-h1', version: 'v1' })).toBe(false);
      t = c.beginFill();
      c.invalidateConsumer('b');
      expect(c.completeFill(t, 'h1', { key: key('k1', 'a'), hash: 'stored-h1', version: 'v1' })).toBe(true);

      t = c.beginFill();
      c.forgetMissing('h9');
      expect(c.completeFill(t, 'h9', undefined)).toBe(false);
      expect(c.isKnownMissing('h9')).toBe(false);

      t = c.beginFill();
      c.clear();
      expect(c.completeFill(t, 'h2', { key: key('k2'), hash: 'stored-h2', version: 'v1' })).toBe(false);
      expect(c.size).toBe(0);
    });

    it('with fills overlapping, each is judged by its own start', () => {
      const c = make({ max: 10 });
      const early = c.beginFill();
      c.invalidateKey('k1');
      const late = c.beginFill();
      expect(c.completeFill(late, 'h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' })).toBe(true);
      expect(c.completeFill(early, 'h2', { key: key('k2'), hash: 'stored-h2', version: 'v1' })).toBe(true);
      const again = c.beginFill();
      c.invalidateKey('k2');
      expect(c.completeFill(again, 'h2', { key: key('k2'), hash: 'stored-h2', version: 'v1' })).toBe(false);
    });

    it('a fill that found nothing is remembered as missing', () => {
      const c = make();
      c.set('h1', { key: key('k1'), hash: 'stored-h1', version: 'v1' });
      expect(c.completeFill(c.beginFill(), 'h1', undefined)).toBe(true);
      expect(c.lookup('h1')).toBeUndefined();
      expect(c.isKnownMissing('h1')).toBe(true);
    });
  });
});
