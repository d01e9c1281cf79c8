import type { AuthKey } from './auth-key';

interface Entry {
  key: AuthKey;
  freshUntil: number;
  staleUntil: number;
}

/**
 * hash → key record, bounded LRU with a short TTL, plus a bounded negative cache of hashes that matched
 * nothing. A stale entry is still served when the database cannot be reached (up to staleSeconds), so
 * that known keys keep working through a database outage.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byKeyId = new Map<string, string>();
  private readonly byConsumerId = new Map<string, Set<string>>();
  private readonly negative = new Map<string, number>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly opts: { ttlMs: number; staleMs: number; max: number; negativeTtlMs: number; negativeMax: number },
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** A fresh entry, or undefined. Touching refreshes LRU order. */
  get(hash: string): AuthKey | undefined {
    const e = this.entries.get(hash);
    if (!e || e.freshUntil <= this.now()) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(hash);
    this.entries.set(hash, e);
    return e.key;
  }

  /** An expired-but-not-too-old entry, for use only when the database is down. */
  getStale(hash: string): AuthKey | undefined {
    const e = this.entries.get(hash);
    return e && e.staleUntil > this.now() ? e.key : undefined;
  }

  set(hash: string, key: AuthKey): void {
    if (this.opts.ttlMs <= 0) return;
    const now = this.now();
    this.remove(hash);
    this.entries.set(hash, { key, freshUntil: now + this.opts.ttlMs, staleUntil: now + Math.max(this.opts.ttlMs, this.opts.staleMs) });
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
    const hash = this.byKeyId.get(keyId);
    if (hash) this.remove(hash);
  }

  invalidateConsumer(consumerId: string): void {
    const hashes = this.byConsumerId.get(consumerId);
    if (!hashes) return;
    for (const h of [...hashes]) this.remove(h);
    this.byConsumerId.delete(consumerId);
  }

  /** A new key's hash may sit in the negative cache if someone tried it before it existed. */
  forgetMissing(hash: string): void {
    this.negative.delete(hash);
  }

  clear(): void {
    this.entries.clear();
    this.byKeyId.clear();
    this.byConsumerId.clear();
    this.negative.clear();
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
