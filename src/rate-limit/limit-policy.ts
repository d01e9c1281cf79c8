import type { ThrottlerGenerateKeyFunction, ThrottlerGetTrackerFunction, ThrottlerOptions } from '@nestjs/throttler';
import type { AuthKey, RateLimitRule } from '../auth/auth-key';

/** The limit that applies when neither the plan nor (for admin keys) the key names one. */
export interface DefaultLimit {
  limit: number;
  windowSeconds: number;
}

export const DEFAULT_LIMIT_NAME = 'default';

/**
 * Where a limit comes from. `default` is the throttler configured in ThrottlerModule (DEFAULT_RATE_LIMIT),
 * applied when neither the plan nor (for admin keys) the key names a limit; `route` is a @Throttle() on the
 * route naming a limit the key does not have.
 */
export type LimitSource = 'default' | 'plan' | 'key' | 'route';

/** The @SkipThrottle() / @Throttle() declarations of one route, read once per handler. */
export interface RouteLimits {
  /** Class.handler: a limit that a route overrides gets a counter of its own for that route. */
  id: string;
  /** Throttler names skipped here; `default` names the default limit only (source `default`). */
  skip: ReadonlySet<string>;
  /** @Throttle({ name: { limit, ttl } }), ttl in milliseconds as in @nestjs/throttler. */
  overrides: ReadonlyArray<{ name: string; limit: number; ttl: number }>;
}

/** One named limit as it applies to one key, with what the throttler's guard path needs, computed once. */
export interface ResolvedLimit {
  /** Name in headers and answers; unique within the policy. */
  name: string;
  limit: number;
  windowSeconds: number;
  /** Whose traffic the counter holds: all keys of the consumer, or this key alone. */
  scope: 'consumer' | 'key';
  source: LimitSource;
  /** The rule's own name (before `key:` disambiguation). */
  throttlerName: string;
  /** Window in milliseconds (the throttler's ttl). */
  ttl: number;
  counterKey: string;
  /** Whose counter: `c:<consumerId>` or `k:<keyId>` (the throttler's tracker). */
  tracker: string;
  /** The throttler options handed to handleRequest for this limit. */
  throttler: ThrottlerOptions;
  getTracker: ThrottlerGetTrackerFunction;
  generateKey: ThrottlerGenerateKeyFunction;
}

/**
 * Everything the limiter needs for one key (on one kind of route), computed once per key record (the key
 * cache builds a new record whenever the key, its consumer or a plan changes, so a change applies to the
 * next request). A request allocates nothing to describe its limits.
 */
export interface LimitPolicy {
  readonly limits: readonly ResolvedLimit[];
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

interface Draft {
  name: string;
  throttlerName: string;
  limit: number;
  ttl: number;
  source: LimitSource;
  scope: 'consumer' | 'key';
  tracker: string;
  counterKey: string;
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
 *
 * A route's @SkipThrottle() drops the limits it names (`default` is the default limit only, never a plan or
 * key limit that happens to be called so); its @Throttle() replaces a named limit's number and window on
 * that route, with a counter of the route's own (the stock throttler counts per route), or adds the limit.
 */
export function resolveLimits(key: AuthKey, defaults: DefaultLimit, route?: RouteLimits): ResolvedLimit[] {
  const drafts: Draft[] = [];
  const consumer = key.consumer;
  const seen = new Set<string>();
  const add = (rule: RateLimitRule, source: LimitSource, scope: 'consumer' | 'key'): void => {
    // A key limit named like a plan limit is a different counter; keep the names in headers apart.
    const name = scope === 'key' && consumer && seen.has(rule.name) ? `key:${rule.name}` : rule.name;
    if (seen.has(name)) return;
    seen.add(name);
    const tracker = scope === 'consumer' ? `c:${consumer!.id}` : `k:${key.id}`;
    drafts.push({
      name,
      throttlerName: rule.name,
      limit: rule.limit,
      ttl: rule.windowSeconds * 1000,
      source,
      scope,
      tracker,
      counterKey: `${tracker}:${rule.name}:${rule.windowSeconds}`,
    });
  };
  const defaultRule: RateLimitRule = { name: DEFAULT_LIMIT_NAME, limit: defaults.limit, windowSeconds: defaults.windowSeconds };
  const own = (key.rateLimits ?? []).filter(isUsable);
  if (consumer) {
    const planRules = (consumer.plan?.rateLimits ?? []).filter(isUsable);
    if (planRules.length > 0) for (const rule of planRules) add(rule, 'plan', 'consumer');
    else add(defaultRule, 'default', 'consumer');
    for (const rule of own) add(rule, 'key', 'key');
  } else if (own.length > 0) {
    for (const rule of own) add(rule, 'key', 'key');
  } else {
    add(defaultRule, 'default', 'key');
  }
  const routed = route ? applyRoute(drafts, route, consumer ? 'consumer' : 'key', consumer ? `c:${consumer.id}` : `k:${key.id}`) : drafts;
  // Every counter of one consumer (or of a key without one) in one Redis Cluster hash slot, so that the
  // limits of a request are one script call there too.
  const slotTag = `{${consumer ? consumer.id : key.id}}`;
  return routed.map((d) => finish(d, slotTag));
}

/** Whether a name in @SkipThrottle/@Throttle designates this limit. */
function designates(d: Draft, name: string): boolean {
  return d.source === 'default' ? name === DEFAULT_LIMIT_NAME : d.throttlerName === name && name !== DEFAULT_LIMIT_NAME;
}

function applyRoute(drafts: Draft[], route: RouteLimits, scope: 'consumer' | 'key', tracker: string): Draft[] {
  const skipped = [...route.skip];
  const out = drafts.filter((d) => !skipped.some((name) => designates(d, name)));
  for (const o of route.overrides) {
    if (route.skip.has(o.name) || !Number.isSafeInteger(o.limit) || o.limit < 0 || !(o.ttl >= 1)) continue;
    const ttl = Math.ceil(o.ttl);
    const matched = out.filter((d) => designates(d, o.name));
    for (const d of matched) {
      d.limit = o.limit;
      d.ttl = ttl;
      d.counterKey = `${d.tracker}:${d.throttlerName}:${ttl}ms:${route.id}`;
    }
    if (matched.length === 0 && !out.some((d) => d.name === o.name)) {
      out.push({ name: o.name, throttlerName: o.name, limit: o.limit, ttl, source: 'route', scope, tracker, counterKey: `${tracker}:${o.name}:${ttl}ms:${route.id}` });
    }
  }
  return out;
}

function finish(d: Draft, slotTag: string): ResolvedLimit {
  const tracker = d.tracker;
  const counterKey = slotTag + d.counterKey;
  return {
    name: d.name,
    limit: d.limit,
    windowSeconds: Math.max(1, Math.ceil(d.ttl / 1000)),
    scope: d.scope,
    source: d.source,
    throttlerName: d.throttlerName,
    ttl: d.ttl,
    counterKey,
    tracker,
    throttler: { name: d.name, limit: d.limit, ttl: d.ttl, blockDuration: d.ttl },
    // Per limit, as @nestjs/throttler lets each named throttler have its own: the counter is whose it is,
    // the limit's name and its window — the same on every route, unlike the stock per-route key.
    getTracker: () => tracker,
    generateKey: () => counterKey,
  };
}

/** A Structured Fields string (RFC 8941): printable ASCII, with `"` and `\` escaped. */
export function sfString(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, '\\$&')}"`;
}

export function buildPolicy(key: AuthKey, defaults: DefaultLimit, route?: RouteLimits): LimitPolicy {
  const limits = resolveLimits(key, defaults, route);
  return {
    limits,
    policyHeader: limits.map((l) => `${sfString(l.name)};q=${l.limit};w=${l.windowSeconds}`).join(', '),
    itemPrefixes: limits.map((l) => `${sfString(l.name)};r=`),
  };
}
