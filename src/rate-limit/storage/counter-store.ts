import type { ThrottlerStorage } from '@nestjs/throttler';

/**
 * Counter storage behind per-key rate limits: the ThrottlerStorage that @nestjs/throttler's guard calls.
 *
 * Semantics are those of @nestjs/throttler's stock storage (INCR, and an expiry set on the first hit):
 * a fixed window that starts at the first hit on a key and lasts `windowMs`; the next hit after it ends
 * starts a new window. Every check costs O(1) in time and space whatever the traffic of one key: a key is
 * one counter and one deadline, never a list of hits.
 *
 * Worst-case burst: a fixed window forgets everything at its edge, so a client can spend `limit` in the
 * last moments of one window and `limit` again at the start of the next — up to 2 × limit within a span
 * of little more than an instant, and never more than 2 × limit within any span of `windowMs`. That is the
 * price of O(1) counters; a sliding log would be exact but costs memory per hit.
 *
 * Refused hits still count (the counter is incremented before the comparison, as with INCR): a client
 * hammering past its limit does not get a fresh allowance by being refused, and a check never needs a
 * second round trip to undo an increment.
 */

/** One named limit to apply to one request. */
export interface LimitCheck {
  /** The counter's identity, e.g. `plan:<consumerId>:default`; identical keys share one counter. */
  key: string;
  /** Units allowed per window (integer ≥ 0). */
  limit: number;
  /** Window length in milliseconds (integer ≥ 1), counted from the first hit. */
  windowMs: number;
  /** Units this request consumes (integer ≥ 0); 0 is a peek that reads without incrementing. */
  cost: number;
}

export interface LimitResult {
  key: string;
  limit: number;
  /** The counter after this hit (for a peek, the counter as it stands). */
  used: number;
  /** max(0, limit − used). */
  remaining: number;
  /** Milliseconds until this window ends (always > 0; a peek on an unused key answers windowMs). */
  resetMs: number;
  /** used ≤ limit; for a peek, whether one more unit would pass (used + 1 ≤ limit). */
  allowed: boolean;
}

/**
 * What one increment answers: @nestjs/throttler's record (`timeToExpire` and `timeToBlockExpire` in
 * seconds) plus what the headers and the hooks need.
 */
export interface CounterRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
  /** Milliseconds until this window ends (always > 0). */
  resetMs: number;
  /**
   * This hit is the first one over the limit in its window (totalHits = limit + 1): the moment to tell
   * someone that a key started being refused, once per window rather than once per refused request.
   */
  firstExceeded: boolean;
}

export interface CounterStore extends ThrottlerStorage {
  readonly name: string;
  /** One hit on one named limit (the throttler's storage call). `blockDuration` equals the window here. */
  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<CounterRecord>;
  /** Reads a counter without counting; `isBlocked` says whether one more hit would be refused. */
  peek(key: string, ttl: number, limit: number): Promise<CounterRecord>;
  /** Applies several checks together (one Redis round trip); results are in the order of `checks`. */
  hit(checks: LimitCheck[]): Promise<LimitResult[]>;
}

/** Injection token for the CounterStore in use (memory or Redis). */
export const COUNTER_STORE = Symbol('COUNTER_STORE');
