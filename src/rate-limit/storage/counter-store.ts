/**
 * Counter storage behind per-key rate limits.
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

export interface CounterStore {
  /** Applies all checks of one request together; results are in the order of `checks`. */
  hit(checks: LimitCheck[]): Promise<LimitResult[]>;
  readonly name: string;
}

/** Injection token for the CounterStore in use (memory or Redis). */
export const COUNTER_STORE = Symbol('COUNTER_STORE');
