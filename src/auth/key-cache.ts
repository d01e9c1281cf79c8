import { hash as digest } from 'node:crypto';
import type { AuthKey } from './auth-key';

/**
 * What the cache is keyed by: SHA-256 of the presented key, held in memory only. The stored HMAC (the
 * database's lookup) is computed only when the database must be asked. On a loaded server an HMAC costs
 * several times a one-shot digest (a new HMAC context per call, cold in the CPU caches between requests),
 * and a key with ≥ 190 random bits is as unrecoverable from its SHA-256 as from its HMAC.
 */
export function cacheKeyOf(plaintext: string): string {
  return digest('sha256', plaintext, 'base64');
}

/** A cached key record. `refreshAt` passed: serve it, and refresh it in the background. */
export interface KeyCacheEntry {
  readonly key: AuthKey;
  /** The key's stored hash (HMAC), which a background refresh reads the row by. */
  readonly hash: string;
  /** What the record was built from, as a string: a refresh that reads the same keeps the same record. */
  readonly version: string;
  refreshAt: number;
  /** Past this the record is not served at all (the database has not confirmed it for too long). */
  staleUntil: number;
  refreshing: boolean;
  /** When lookup last moved it to the young end of the LRU order. */
  touchedAt: number;
}

/** What a read of the database gives the cache for one presented key. */
export interface CachedKey {
  key: AuthKey;
  /** The stored hash (HMAC) the row was found under. */
  hash: string;
  /** A string of everything the record was built from (see KeyCacheEntry.version). */
  version: string;
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
/** A record looked up again within this long keeps its place in the LRU order. */
const LRU_TOUCH_MS = 1000;

/**
 * cacheKeyOf(plaintext) → key record, bounded LRU, plus a bounded negative cache of presented keys that
 * matched nothing.
 *
 * Records are served stale-while-revalidate: past `ttlMs` the cached record still answers and the
 * caller refreshes it in the background, so only a key never seen waits on the database. Invalidations
 * drop records at once.
 *
 * Fills are fenced by generations: every invalidation (of a key, a consumer, a presented key, or everything) takes
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
  private readonly presentedInvalidated = new Map<string, number>();
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

  /** The record to serve for a presented key (its cacheKeyOf), fresh or due for a refresh; undefined if none. Touching refreshes LRU order. */
  lookup(id: string): KeyCacheEntry | undefined {
    const e = this.entries.get(id);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    const now = this.now();
    if (e.staleUntil <= now) {
      this.remove(id);
      this.misses++;
      return undefined;
    }
    this.hits++;
    // LRU order, refreshed at most once a second per record: a hot key would otherwise pay a Map delete
    // and insert on every request to stay where it already is.
    if (e.touchedAt + LRU_TOUCH_MS <= now) {
      e.touchedAt = now;
      this.entries.delete(id);
      this.entries.set(id, e);
    }
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
  refreshFailed(id: string, e: KeyCacheEntry): void {
    e.refreshing = false;
    if (this.entries.get(id) === e) e.refreshAt = this.now() + Math.min(this.opts.ttlMs, REFRESH_RETRY_MS);
  }

  /** Starts a fill; pass the ticket to completeFill or abortFill. */
  beginFill(): number {
    const ticket = this.nextTicket++;
    this.fills.set(ticket, this.generation);
    return ticket;
  }

  /**
   * Stores what a fill read for presented key `id` (`undefined`: no key matches it), with the key's stored
   * `hash`, unless an invalidation that concerns it happened after the fill began. Returns false when the
   * result was discarded for that reason.
   */
  completeFill(ticket: number, id: string, found: CachedKey | undefined): boolean {
    const started = this.fills.get(ticket);
    const stale = started === undefined || this.invalidatedSince(started, id, found?.key);
    this.endFill(ticket);
    if (stale) return false;
    const current = found && this.entries.get(id);
    if (current && current.version === found!.version && current.key.id === found!.key.id) {
      // Read back unchanged: the same record serves on, with what was derived from it (limit policies,
      // usage counters), for another TTL.
      this.renew(current);
      return true;
    }
    if (found) this.set(id, found);
    else {
      this.remove(id);
      this.rememberMissing(id);
    }
    return true;
  }

  abortFill(ticket: number): void {
    this.endFill(ticket);
  }

  set(id: string, { key, hash, version }: CachedKey): void {
    if (this.opts.ttlMs <= 0) return;
    const now = this.now();
    this.remove(id);
    this.entries.set(id, { key, hash, version, refreshAt: now + this.opts.ttlMs, staleUntil: now + Math.max(this.opts.ttlMs, this.opts.staleMs), refreshing: false, touchedAt: now });
    this.byKeyId.set(key.id, id);
    if (key.consumer) {
      let set = this.byConsumerId.get(key.consumer.id);
      if (!set) this.byConsumerId.set(key.consumer.id, (set = new Set()));
      set.add(id);
    }
    this.negative.delete(id);
    while (this.entries.size > this.opts.max) this.remove(this.entries.keys().next().value as string);
  }

  private renew(e: KeyCacheEntry): void {
    const now = this.now();
    e.refreshAt = now + this.opts.ttlMs;
    e.staleUntil = now + Math.max(this.opts.ttlMs, this.opts.staleMs);
    e.refreshing = false;
  }

  isKnownMissing(id: string): boolean {
    const until = this.negative.get(id);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.negative.delete(id);
    return false;
  }

  rememberMissing(id: string): void {
    if (this.opts.negativeTtlMs <= 0) return;
    this.negative.delete(id);
    this.negative.set(id, this.now() + this.opts.negativeTtlMs);
    while (this.negative.size > this.opts.negativeMax) this.negative.delete(this.negative.keys().next().value as string);
  }

  invalidateKey(keyId: string): void {
    this.remember(this.keyInvalidated, keyId);
    const id = this.byKeyId.get(keyId);
    if (id) this.remove(id);
  }

  invalidateConsumer(consumerId: string): void {
    this.remember(this.consumerInvalidated, consumerId);
    const ids = this.byConsumerId.get(consumerId);
    if (!ids) return;
    for (const id of [...ids]) this.remove(id);
    this.byConsumerId.delete(consumerId);
  }

  /** A new key may sit in the negative cache, or in a fill, if someone presented it before it existed. */
  forgetMissing(id: string): void {
    this.remember(this.presentedInvalidated, id);
    this.negative.delete(id);
  }

  clear(): void {
    this.clearedAt = ++this.generation;
    this.keyInvalidated.clear();
    this.consumerInvalidated.clear();
    this.presentedInvalidated.clear();
    this.entries.clear();
    this.byKeyId.clear();
    this.byConsumerId.clear();
    this.negative.clear();
  }

  private remember(map: Map<string, number>, id: string): void {
    // With no fill in flight there is nothing to fence: the drop alone is enough.
    if (this.fills.size === 0) return;
    if (this.keyInvalidated.size + this.consumerInvalidated.size + this.presentedInvalidated.size >= MAX_REMEMBERED_INVALIDATIONS) {
      this.clear();
      return;
    }
    map.set(id, ++this.generation);
  }

  private invalidatedSince(started: number, id: string, key: AuthKey | undefined): boolean {
    if (this.clearedAt > started) return true;
    if ((this.presentedInvalidated.get(id) ?? 0) > started) return true;
    if (!key) return false;
    if ((this.keyInvalidated.get(key.id) ?? 0) > started) return true;
    return key.consumer !== null && (this.consumerInvalidated.get(key.consumer.id) ?? 0) > started;
  }

  /** Forgets invalidations that no fill in flight can still be fenced by. */
  private endFill(ticket: number): void {
    this.fills.delete(ticket);
    if (this.keyInvalidated.size + this.consumerInvalidated.size + this.presentedInvalidated.size === 0) return;
    if (this.fills.size === 0) {
      this.keyInvalidated.clear();
      this.consumerInvalidated.clear();
      this.presentedInvalidated.clear();
      return;
    }
    let oldest = Infinity;
    for (const g of this.fills.values()) if (g < oldest) oldest = g;
    for (const map of [this.keyInvalidated, this.consumerInvalidated, this.presentedInvalidated]) {
      for (const [id, g] of map) if (g <= oldest) map.delete(id);
    }
  }

  private remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    if (this.byKeyId.get(e.key.id) === id) this.byKeyId.delete(e.key.id);
    if (e.key.consumer) {
      const set = this.byConsumerId.get(e.key.consumer.id);
      set?.delete(id);
      if (set && set.size === 0) this.byConsumerId.delete(e.key.consumer.id);
    }
  }
}
