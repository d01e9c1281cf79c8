import type { CounterRecord, CounterStore, LimitCheck, LimitResult } from './counter-store';
import { assertValidChecks, throttlerCheck, toLimitResult } from './limit-result';

export interface MemoryCounterStoreOptions {
  /** Upper bound on counters held; beyond it expired counters go first, then the oldest. Default 1,000,000. */
  maxKeys?: number;
  /** Clock in epoch milliseconds; injectable so that tests can move time. */
  now?: () => number;
}

interface Counter {
  count: number;
  resetAt: number;
}

const DEFAULT_MAX_KEYS = 1_000_000;
/** A sweep pass over the counters starts at most this often. */
const SWEEP_INTERVAL_MS = 1_000;
/**
 * Counters a sweep examines per call. A pass is spread over many calls so that no request pays for the
 * whole map; this bounds the extra work of any one call to a few microseconds.
 */
const SWEEP_CHUNK = 256;

/**
 * In-process fixed-window counters: the storage of a single instance, and the fallback of the Redis
 * store while Redis is unreachable.
 *
 * The Map's insertion order doubles as an age order: a counter is re-inserted whenever its window
 * starts afresh, so the first entries are those whose windows started longest ago. That gives eviction
 * at `maxKeys` in O(1) without a separate LRU structure.
 */
export class MemoryCounterStore implements CounterStore {
  readonly name = 'memory';

  private readonly counters = new Map<string, Counter>();
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** Position of the sweep pass in progress; undefined between passes. */
  private sweepCursor: IterableIterator<[string, Counter]> | undefined;
  private nextSweepAt = 0;

  constructor(opts: MemoryCounterStoreOptions = {}) {
    const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`maxKeys must be an integer ≥ 1, got ${maxKeys}`);
    }
    this.maxKeys = maxKeys;
    this.now = opts.now ?? Date.now;
  }

  /** Number of counters held (expired ones included until swept). */
  get size(): number {
    return this.counters.size;
  }

  increment(key: string, ttl: number, limit: number, _blockDuration?: number, _throttlerName?: string): Promise<CounterRecord> {
    try {
      return Promise.resolve(this.incrementSync(key, ttl, limit, 1));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  peek(key: string, ttl: number, limit: number): Promise<CounterRecord> {
    try {
      return Promise.resolve(this.incrementSync(key, ttl, limit, 0));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** increment() (cost 1) or peek() (cost 0) without a promise: the Redis store's fallback answers from here. */
  incrementSync(key: string, ttl: number, limit: number, cost: 0 | 1): CounterRecord {
    const windowMs = Math.ceil(ttl);
    if (typeof key !== 'string' || !Number.isSafeInteger(limit) || limit < 0 || !Number.isSafeInteger(windowMs) || windowMs < 1) {
      throttlerCheck(key, ttl, limit, cost); // throws the RangeError that names the check
    }
    const now = this.now();
    this.maybeSweep(now);
    // The hot path of every request on one instance: one record, no intermediate objects.
    let counter = this.counters.get(key);
    if (counter !== undefined && counter.resetAt <= now) {
      this.counters.delete(key);
      counter = undefined;
    }
    let used = 0;
    let resetMs = windowMs;
    if (counter !== undefined) {
      if (cost !== 0) counter.count += cost;
      used = counter.count;
      resetMs = counter.resetAt - now;
    } else if (cost !== 0) {
      if (this.counters.size >= this.maxKeys) this.makeRoom(now);
      this.counters.set(key, { count: cost, resetAt: now + windowMs });
      used = cost;
    }
    if (resetMs < 1) resetMs = 1;
    const isBlocked = cost === 0 ? used + 1 > limit : used > limit;
    const timeToExpire = Math.ceil(resetMs / 1000);
    return {
      totalHits: used,
      timeToExpire,
      isBlocked,
      timeToBlockExpire: isBlocked ? timeToExpire : 0,
      resetMs,
      firstExceeded: cost !== 0 && used === limit + cost,
    };
  }

  hit(checks: LimitCheck[]): Promise<LimitResult[]> {
    try {
      return Promise.resolve(this.hitSync(checks));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The same as hit(), without a promise. */
  hitSync(checks: readonly LimitCheck[]): LimitResult[] {
    assertValidChecks(checks);
    const now = this.now();
    this.maybeSweep(now);
    const results = new Array<LimitResult>(checks.length);
    for (let i = 0; i < checks.length; i++) {
      results[i] = this.apply(checks[i], now);
    }
    return results;
  }

  private apply(check: LimitCheck, now: number): LimitResult {
    let counter = this.counters.get(check.key);
    if (counter !== undefined && counter.resetAt <= now) {
      // Deleted rather than reset in place, so that re-insertion moves it to the young end of the Map.
      this.counters.delete(check.key);
      counter = undefined;
    }
    if (check.cost === 0) {
      // A peek never creates a counter: reading a limit must not take space or start a window.
      return counter === undefined
        ? toLimitResult(check, 0, check.windowMs)
        : toLimitResult(check, counter.count, counter.resetAt - now);
    }
    if (counter === undefined) {
      if (this.counters.size >= this.maxKeys) this.makeRoom(now);
      counter = { count: 0, resetAt: now + check.windowMs };
      this.counters.set(check.key, counter);
    }
    counter.count += check.cost;
    return toLimitResult(check, counter.count, counter.resetAt - now);
  }

  /** Continues the sweep pass in progress, or starts one when the interval has passed. */
  private maybeSweep(now: number): void {
    if (this.sweepCursor === undefined && now < this.nextSweepAt) return;
    this.sweepStep(now);
  }

  private sweepStep(now: number): void {
    // Map iterators are live: entries deleted behind the cursor are skipped, entries added are visited later.
    const cursor = (this.sweepCursor ??= this.counters.entries());
    for (let i = 0; i < SWEEP_CHUNK; i++) {
      const next = cursor.next();
      if (next.done === true) {
        this.sweepCursor = undefined;
        this.nextSweepAt = now + SWEEP_INTERVAL_MS;
        return;
      }
      if (next.value[1].resetAt <= now) this.counters.delete(next.value[0]);
    }
  }

  /**
   * Frees a slot at maxKeys: expired counters first (one bounded sweep step, which on a small map is a
   * full pass), then the oldest. Evicting a live counter resets that key's window — the accepted cost of
   * bounded memory under a flood of distinct keys.
   */
  private makeRoom(now: number): void {
    this.sweepStep(now);
    while (this.counters.size >= this.maxKeys) {
      const oldest = this.counters.keys().next();
      if (oldest.done === true) return;
      this.counters.delete(oldest.value);
    }
  }
}
