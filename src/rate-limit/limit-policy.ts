import type { AuthKey, RateLimitRule } from '../auth/auth-key';
import type { LimitCheck } from './storage';

/** The limit that applies when neither the plan nor (for admin keys) the key names one. */
export interface DefaultLimit {
  limit: number;
  windowSeconds: number;
}

export const DEFAULT_LIMIT_NAME = 'default';

/** One named limit as it applies to one key. */
export interface ResolvedLimit {
  /** Name in headers and answers; unique within the policy. */
  name: string;
  limit: number;
  windowSeconds: number;
  /** Whose traffic the counter holds: all keys of the consumer, or this key alone. */
  scope: 'consumer' | 'key';
}

/**
 * Everything the limiter needs for one key, computed once per key record (the key cache builds a new
 * record whenever the key, its consumer or a plan changes, so a change applies to the next request).
 * The check arrays are handed to the store as they are: a request allocates nothing to describe itself.
 */
export interface LimitPolicy {
  readonly limits: readonly ResolvedLimit[];
  /** One check per limit, consuming one request. */
  readonly consume: LimitCheck[];
  /** The same checks with cost 0: read without consuming. */
  readonly peek: LimitCheck[];
  /** The RateLimit-Policy header, e.g. `"default";q=1000;w=60`. */
  readonly policyHeader: string;
  /** Per limit, the constant start of its RateLimit item: `"default";r=`. */
  readonly itemPrefixes: readonly string[];
}

function isUsable(rule: RateLimitRule): boolean {
  // Key limits are validated on input; a plan row written by hand could still hold nonsense, and one bad
  // rule must not turn every request of the consumer into an error.
  return (
    typeof rule?.name === 'string' &&
    rule.name.length > 0 &&
    Number.isSafeInteger(rule.limit) &&
    rule.limit >= 0 &&
    Number.isSafeInteger(rule.windowSeconds) &&
    rule.windowSeconds >= 1
  );
}

/**
 * Which limits apply to a key, in header order:
 * - consumer keys: the plan's limits, or the default when the plan has none (or there is no plan),
 *   counted for all keys of the consumer together — always, even when the key has limits of its own, so
 *   that minting keys with generous limits cannot lift the consumer's; then the key's own limits, counted
 *   for that key alone;
 * - admin keys (no consumer): their own limits, or the default, counted per key.
 *
 * A counter is identified by whose it is, the limit's name and its window, so that a key's limit is one
 * counter across all routes, and changing a window starts a fresh count while changing only the number
 * keeps the count.
 */
export function resolveLimits(key: AuthKey, defaults: DefaultLimit): Array<ResolvedLimit & { counterKey: string }> {
  const out: Array<ResolvedLimit & { counterKey: string }> = [];
  const defaultRule: RateLimitRule = { name: DEFAULT_LIMIT_NAME, limit: defaults.limit, windowSeconds: defaults.windowSeconds };
  const own = (key.rateLimits ?? []).filter(isUsable);
  const consumer = key.consumer;
  if (consumer) {
    const planRules = (consumer.plan?.rateLimits ?? []).filter(isUsable);
    const shared = planRules.length > 0 ? planRules : [defaultRule];
    const seen = new Set<string>();
    for (const rule of shared) {
      if (seen.has(rule.name)) continue;
      seen.add(rule.name);
      out.push({ ...pick(rule), scope: 'consumer', counterKey: `c:${consumer.id}:${rule.name}:${rule.windowSeconds}` });
    }
    for (const rule of own) {
      // A key limit named like a plan limit is a different counter; keep the names in headers apart.
      const name = seen.has(rule.name) ? `key:${rule.name}` : rule.name;
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ ...pick(rule), name, scope: 'key', counterKey: `k:${key.id}:${rule.name}:${rule.windowSeconds}` });
    }
    return out;
  }
  const rules = own.length > 0 ? own : [defaultRule];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.name)) continue;
    seen.add(rule.name);
    out.push({ ...pick(rule), scope: 'key', counterKey: `k:${key.id}:${rule.name}:${rule.windowSeconds}` });
  }
  return out;
}

function pick(rule: RateLimitRule): { name: string; limit: number; windowSeconds: number } {
  return { name: rule.name, limit: rule.limit, windowSeconds: rule.windowSeconds };
}

/** A Structured Fields string (RFC 8941): printable ASCII, with `"` and `\` escaped. */
export function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, '\\$&')}"`;
}

export function buildPolicy(key: AuthKey, defaults: DefaultLimit): LimitPolicy {
  const resolved = resolveLimits(key, defaults);
  const limits: ResolvedLimit[] = resolved.map(({ name, limit, windowSeconds, scope }) => ({ name, limit, windowSeconds, scope }));
  const consume: LimitCheck[] = resolved.map((r) => ({ key: r.counterKey, limit: r.limit, windowMs: r.windowSeconds * 1000, cost: 1 }));
  const peek: LimitCheck[] = consume.map((c) => ({ ...c, cost: 0 }));
  return {
    limits,
    consume,
    peek,
    policyHeader: limits.map((l) => `${sfString(l.name)};q=${l.limit};w=${l.windowSeconds}`).join(', '),
    itemPrefixes: limits.map((l) => `${sfString(l.name)};r=`),
  };
}
