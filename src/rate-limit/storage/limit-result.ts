import type { CounterRecord, LimitCheck, LimitResult } from './counter-store';

/**
 * Rejects checks that no store can apply. Done before any storage is touched so that a caller's bug
 * surfaces as an error of its own — on Redis it would otherwise come back as a script error and be
 * mistaken for an outage.
 */
export function assertValidChecks(checks: readonly LimitCheck[]): void {
  for (const check of checks) {
    if (
      typeof check.key !== 'string' ||
      !Number.isSafeInteger(check.limit) ||
      check.limit < 0 ||
      !Number.isSafeInteger(check.windowMs) ||
      check.windowMs < 1 ||
      !Number.isSafeInteger(check.cost) ||
      check.cost < 0
    ) {
      throw new RangeError(
        `Invalid rate limit check ${JSON.stringify(check)}: limit and cost must be integers ≥ 0, windowMs an integer ≥ 1`,
      );
    }
  }
}

/** The one place where a counter reading becomes a verdict, so that both stores answer alike. */
export function toLimitResult(check: LimitCheck, used: number, resetMs: number): LimitResult {
  return {
    key: check.key,
    limit: check.limit,
    used,
    remaining: Math.max(0, check.limit - used),
    // Redis can report a TTL of 0 in the last millisecond of a window; callers rely on resetMs > 0.
    resetMs: Math.max(1, resetMs),
    allowed: check.cost === 0 ? used + 1 <= check.limit : used <= check.limit,
  };
}

/** A check's result as the throttler's storage record. */
export function toCounterRecord(r: LimitResult, cost: number): CounterRecord {
  const timeToExpire = Math.ceil(r.resetMs / 1000);
  return {
    totalHits: r.used,
    timeToExpire,
    isBlocked: !r.allowed,
    timeToBlockExpire: r.allowed ? 0 : timeToExpire,
    resetMs: r.resetMs,
    firstExceeded: cost > 0 && r.used > r.limit && r.used - cost <= r.limit,
  };
}

/** The check behind one throttler increment (or peek): the window is the throttler's ttl in ms. */
export function throttlerCheck(key: string, ttl: number, limit: number, cost: number): LimitCheck {
  const check = { key, limit: Math.floor(limit), windowMs: Math.max(1, Math.ceil(ttl)), cost };
  assertValidChecks([check]);
  return check;
}
