import type { AuthKey } from './auth-key';

/** A cached key record. `refreshAt` passed: serve it, and refresh it in the background. */
export interface KeyCacheEntry {
  readonly key: AuthKey;
  refreshAt: number;
  /** Past this the record is not served at all (the database has not confirmed it for too long). */
  readonly staleUntil: number;
  refreshing: boolean;
}

export interface KeyCacheOptions {
  /** How long a record is served without asking the database again. 0 disables the cache. */
  ttlMs: number;
  /** How long a record that could not be refreshed (database down) is still served. */
  staleMs: number;
  max: number;
  negativeTtlMs: number;
  negativeMax: number;
}

/** Remembered invalidations past this many: treated as one full clear, which is always safe. */
const MAX_REMEMBERED_INVALIDATIONS = 100_000;
/** After a failed refresh, the next try waits at most this long (a down database is not asked per request). */
const REFRESH_RETRY_MS = 1000;

/**
 * hash → key record, bounded LRU, plus a bounded negative cache of hashes that matched nothing.
 *
 * Records are served stale-while-revalidate: past `ttlMs` the cached record still answers and the
 * caller refreshes it in the background, so only a key never seen waits on the database. Invalidations
 * drop records at once.
 *
 * Fills are fenced by generations: every invalidation (of a key, a consumer, a hash, or everything) takes
 * a new generation number, and a fill (a database read whose result is to be cached) records the
 * generation it started at. A fill that finishes after an invalidation that concerns its record is
 * discarded, so a read that began before a revocation can never put the revoked key back.
 */
export class KeyCache {
  private readonly entries = new Map<string, KeyCacheEntry>();
  private readonly byKeyId = new Map<string, string>();
  private readonly byConsumerId = new Map<string, Set<string>>();
  private readonly negative = new Map<string, number>();

  private generation = 0;
  private clearedAt = 0;
  private readonly keyInvalidated = new Map<string, number>();
  private readonly consumerInvalidated = new Map<string, number>();
  private readonly hashInvalidated = new Map<string, number>();
  /** Fills in flight: ticket → generation at start. */
  private readonly fills = new Map<number, number>();
  private nextTicket = 1;

  hits = 0;
  misses = 0;
  refreshes = 0;

  constructor(
    private readonly opts: KeyCacheOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The record to serve for `hash`, fresh or due for a refresh; undefined if none. Touching refreshes LRU order. */
  lookup(hash: string): KeyCacheEntry | undefined {
    const e = this.entries.get(hash);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    if (e.staleUntil <= this.now()) {
      this.remove(hash);
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(hash);
    this.entries.set(hash, e);
    return e;
  }

  /** Whether the caller should start a background refresh of this entry now (and marks it as started). */
  claimRefresh(e: KeyCacheEntry): boolean {
    if (e.refreshing || e.refreshAt > this.now()) return false;
    e.refreshing = true;
    this.refreshes++;
    return true;
  }

  /** A refresh failed (database down): keep serving the record until staleUntil, try again shortly. */
  refreshFailed(hash: string, e: KeyCacheEntry): void {
    e.refreshing = false;
    if (this.entries.get(hash) === e) e.refreshAt = this.now() + Math.min(this.opts.ttlMs, REFRESH_RETRY_MS);
  }

  /** Starts a fill; pass the ticket to completeFill or abortFill. */
  beginFill(): number {
    const ticket = this.nextTicket++;
    this.fills.set(ticket, this.generation);
    return ticket;
  }

  /**
   * Stores what a fill read (`undefined`: no key has this hash), unless an invalidation that concerns it
   * happened after the fill began. Returns false when the result was discarded for that reason.
   */
  completeFill(ticket: number, hash: string, key: AuthKey | undefined): boolean {
    const started = this.fills.get(ticket);
    const stale = started === undefined || this.invalidatedSince(started, hash, key);
    this.endFill(ticket);
    if (stale) return false;
    if (key) this.set(hash, key);
    else {
      this.remove(hash);
      this.rememberMissing(hash);
    }
    return true;
  }

  abortFill(ticket: number): void {
    this.endFill(ticket);
  }

  set(hash: string, key: AuthKey): void {
    if (this.opts.ttlMs <= 0) return;
    const now = this.now();
    this.remove(hash);
    this.entries.set(hash, { key, refreshAt: now + this.opts.ttlMs, staleUntil: now + Math.max(this.opts.ttlMs, this.opts.staleMs), refreshing: false });
    this.byKeyId.set(key.id, hash);
    if (key.consumer) {
      let set = this.byConsumerId.get(key.consumer.id);
      if (!set) this.byConsumerId.set(key.consumer.id, (set = new Set()));
      set.add(hash);
    }
    this.negative.delete(hash);
    while (this.entries.size > this.opts.max) this.remove(this.entries.keys().next().value as string);
  }

  isKnownMissing(hash: string): boolean {
    const until = this.negative.get(hash);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.negative.delete(hash);
    return false;
  }

  rememberMissing(hash: string): void {
    if (this.opts.negativeTtlMs <= 0) return;
    this.negative.delete(hash);
    this.negative.set(hash, this.now() + this.opts.negativeTtlMs);
    while (this.negative.size > this.opts.negativeMax) this.negative.delete(this.negative.keys().next().value as string);
  }

  invalidateKey(keyId: string): void {
    this.remember(this.keyInvalidated, keyId);
    const hash = this.byKeyId.get(keyId);
    if (hash) this.remove(hash);
  }

  invalidateConsumer(consumerId: string): void {
    this.remember(this.consumerInvalidated, consumerId);
    const hashes = this.byConsumerId.get(consumerId);
    if (!hashes) return;
    for (const h of [...hashes]) this.remove(h);
    this.byConsumerId.delete(consumerId);
  }

  /** A new key's hash may sit in the negative cache, or in a fill, if someone tried it before it existed. */
  forgetMissing(hash: string): void {
    this.remember(this.hashInvalidated, hash);
    this.negative.delete(hash);
  }

  clear(): void {
    this.clearedAt = ++this.generation;
    this.keyInvalidated.clear();
    this.consumerInvalidated.clear();
    this.hashInvalidated.clear();
    this.entries.clear();
    this.byKeyId.clear();
    this.byConsumerId.clear();
    this.negative.clear();
  }

  private remember(map: Map<string, number>, id: string): void {
    // With no fill in flight there is nothing to fence: the drop alone is enough.
    if (this.fills.size === 0) return;
    if (this.keyInvalidated.size + this.consumerInvalidated.size + this.hashInvalidated.size >= MAX_REMEMBERED_INVALIDATIONS) {
      this.clear();
      return;
    }
    map.set(id, ++this.generation);
  }

  private invalidatedSince(started: number, hash: string, key: AuthKey | undefined): boolean {
    if (this.clearedAt > started) return true;
    if ((this.hashInvalidated.get(hash) ?? 0) > started) return true;
    if (!key) return false;
    if ((this.keyInvalidated.get(key.id) ?? 0) > started) return true;
    return key.consumer !== null && (this.consumerInvalidated.get(key.consumer.id) ?? 0) > started;
  }

  /** Forgets invalidations that no fill in flight can still be fenced by. */
  private endFill(ticket: number): void {
    this.fills.delete(ticket);
    if (this.keyInvalidated.size + this.consumerInvalidated.size + this.hashInvalidated.size === 0) return;
    if (this.fills.size === 0) {
      this.keyInvalidated.clear();
      this.consumerInvalidated.clear();
      this.hashInvalidated.clear();
      return;
    }
    let oldest = Infinity;
    for (const g of this.fills.values()) if (g < oldest) oldest = g;
    for (const map of [this.keyInvalidated, this.consumerInvalidated, this.hashInvalidated]) {
      for (const [id, g] of map) if (g <= oldest) map.delete(id);
    }
  }

  private remove(hash: string): void {
    const e = this.entries.get(hash);
    if (!e) return;
    this.entries.delete(hash);
    if (this.byKeyId.get(e.key.id) === hash) this.byKeyId.delete(e.key.id);
    if (e.key.consumer) {
      const set = this.byConsumerId.get(e.key.consumer.id);
      set?.delete(hash);
      if (set && set.size === 0) this.byConsumerId.delete(e.key.consumer.id);
    }
  }
}
