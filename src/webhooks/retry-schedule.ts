/**
 * Delay before attempt `attempt + 1` after `attempt` failed: base × 4^(attempt − 1), ±20 % jitter so that
 * endpoints recovering from an outage are not hit by every retry at once. With the default base of
 * 15 s and 8 attempts the gaps are ~15 s, 1 min, 4 min, 16 min, 1 h, 4.3 h and 17 h: about a day.
 */
export function retryDelayMs(attempt: number, baseMs: number, random = Math.random): number {
  const exp = baseMs * 4 ** Math.max(0, attempt - 1);
  return Math.round(exp * (0.8 + 0.4 * random()));
}
