import { Inject, Injectable } from '@nestjs/common';
import { InjectThrottlerOptions, type ThrottlerLimitDetail, type ThrottlerModuleOptions } from '@nestjs/throttler';
import type { AuthKey } from '../auth/auth-key';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { buildPolicy, DEFAULT_LIMIT_NAME, type DefaultLimit, type LimitPolicy, type ResolvedLimit, type RouteLimits } from './limit-policy';
import { LimiterMetrics } from './limiter-metrics';
import { COUNTER_STORE, type CounterRecord, type CounterStore, MemoryCounterStore } from './storage';

/** The outcome of applying (or reading) every limit of one key. */
export interface RateLimitDecision {
  allowed: boolean;
  policy: LimitPolicy;
  /** In the order of policy.limits. */
  records: CounterRecord[];
}

/** One limit as an answer shows it (GET /v1/me, POST /v1/keys/verify). */
export interface RateLimitState {
  name: string;
  limit: number;
  /** The length of the window, as in RateLimit-Policy's `w`. */
  windowSeconds: number;
  remaining: number;
  /** Seconds until the window resets. */
  reset: number;
}

/** The throttler's detail of a refusal, with the limit that the client waits for. */
export interface RateLimitDetail extends ThrottlerLimitDetail {
  name: string;
  windowSeconds: number;
  /** Seconds until every refusing limit has room again. */
  retryAfter: number;
}

/** Called when a hit is a key's first one over a limit in that limit's window (not once per 429). */
export type FirstExceededListener = (key: AuthKey, limit: ResolvedLimit, record: CounterRecord) => void;

interface HeaderTarget {
  header(name: string, value: string | number): unknown;
}

/**
 * A key's named limits: the policy built once per key record, the verdict over the storage records of
 * one request, the headers, and the 429. The global RateLimitGuard applies them through the throttler's
 * guard path; key verification and /v1/me use consume() and peek() on the same storage.
 */
@Injectable()
export class RateLimitService {
  /** Key records are rebuilt on every change, so a policy cached per record is never stale. */
  private readonly policies = new WeakMap<AuthKey, LimitPolicy>();
  /** Policies on routes with @SkipThrottle/@Throttle, per key record and route. */
  private readonly routePolicies = new WeakMap<AuthKey, Map<RouteLimits, LimitPolicy>>();
  private readonly firstExceeded: FirstExceededListener[] = [];
  readonly defaults: DefaultLimit;

  /** The in-process store, which answers without a promise; null with Redis. */
  private readonly syncStore: MemoryCounterStore | null;

  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    private readonly metrics: LimiterMetrics,
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
  ) {
    this.syncStore = store instanceof MemoryCounterStore ? store : null;
    // The default limit is ThrottlerModule's `default` throttler.
    const throttlers = Array.isArray(options) ? options : options.throttlers;
    const fallback = throttlers.find((t) => (t.name ?? DEFAULT_LIMIT_NAME) === DEFAULT_LIMIT_NAME);
    if (!fallback || typeof fallback.limit !== 'number' || typeof fallback.ttl !== 'number') {
      throw new Error('ThrottlerModule needs a "default" throttler with a numeric limit and ttl');
    }
    this.defaults = { limit: fallback.limit, windowSeconds: Math.max(1, Math.round(fallback.ttl / 1000)) };
  }

  /** Registers a listener for a key's first refused hit in a window (e.g. to notify the operator). */
  onFirstExceeded(listener: FirstExceededListener): void {
    this.firstExceeded.push(listener);
  }

  policyFor(key: AuthKey, route?: RouteLimits | null): LimitPolicy {
    if (route) return this.routePolicyFor(key, route);
    let policy = this.policies.get(key);
    if (policy === undefined) {
      policy = buildPolicy(key, this.defaults);
      this.policies.set(key, policy);
    }
    return policy;
  }

  private routePolicyFor(key: AuthKey, route: RouteLimits): LimitPolicy {
    let byRoute = this.routePolicies.get(key);
    if (byRoute === undefined) this.routePolicies.set(key, (byRoute = new Map()));
    let policy = byRoute.get(route);
    if (policy === undefined) byRoute.set(route, (policy = buildPolicy(key, this.defaults, route)));
    return policy;
  }

  /**
   * One hit on every limit of the key, outside the guard (key verification); `route` as for the guard.
   * Without a promise when the in-process store answers.
   */
  consume(key: AuthKey, route?: RouteLimits | null): RateLimitDecision | Promise<RateLimitDecision> {
    const policy = this.policyFor(key, route);
    const limits = policy.limits;
    if (this.syncStore !== null) {
      const records = new Array<CounterRecord>(limits.length);
      for (let i = 0; i < limits.length; i++) records[i] = this.syncStore.incrementSync(limits[i].counterKey, limits[i].ttl, limits[i].limit, 1);
      return this.decide(key, policy, records, true);
    }
    return Promise.all(limits.map((l) => this.store.increment(l.counterKey, l.ttl, l.limit, l.ttl, l.name))).then((records) =>
      this.decide(key, policy, records, true),
    );
  }

  /** Every limit of the key as it stands, without counting. */
  async peek(key: AuthKey, route?: RouteLimits | null): Promise<RateLimitDecision> {
    const policy = this.policyFor(key, route);
    const records = await Promise.all(policy.limits.map((l) => this.store.peek(l.counterKey, l.ttl, l.limit)));
    return this.decide(key, policy, records, false);
  }

  /** The verdict over the records of one request: refused if any limit refuses. */
  decide(key: AuthKey, policy: LimitPolicy, records: CounterRecord[], counted: boolean): RateLimitDecision {
    let allowed = true;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      if (!r.isBlocked) continue;
      allowed = false;
      if (r.firstExceeded && counted) this.notifyFirstExceeded(key, policy.limits[i], r);
    }
    if (counted) (allowed ? this.metrics.rateAllowed : this.metrics.rateLimited).inc();
    return { allowed, policy, records };
  }

  private notifyFirstExceeded(key: AuthKey, limit: ResolvedLimit, record: CounterRecord): void {
    for (const listener of this.firstExceeded) {
      try {
        listener(key, limit, record);
      } catch {
        // A listener's failure must not change the answer to the request.
      }
    }
  }

  /**
   * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11) for every limit, and
   * `X-RateLimit-*` for the most restrictive one: when refused, the refusing limit that frees up last;
   * otherwise the one with the fewest requests left.
   */
  setHeaders(reply: HeaderTarget, decision: RateLimitDecision): void {
    const { policy, records } = decision;
    if (records.length === 0) return;
    const limits = policy.limits;
    let item = '';
    let pick = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      item += (i === 0 ? '' : ', ') + policy.itemPrefixes[i] + remaining(limits[i], r) + ';t=' + r.timeToExpire;
      if (i > 0 && moreRestrictive(limits[i], r, limits[pick], records[pick])) pick = i;
    }
    reply.header('RateLimit-Policy', policy.policyHeader);
    reply.header('RateLimit', item);
    const chosen = records[pick];
    reply.header('X-RateLimit-Limit', limits[pick].limit);
    reply.header('X-RateLimit-Remaining', remaining(limits[pick], chosen));
    reply.header('X-RateLimit-Reset', chosen.timeToExpire);
  }

  /** The throttler's detail of a refused decision: the refusing limit that frees up last. */
  detail(decision: RateLimitDecision): RateLimitDetail {
    const i = Math.max(0, lastToFreeUp(decision.records));
    const r = decision.records[i];
    const l = decision.policy.limits[i];
    return {
      ...r,
      limit: l.limit,
      ttl: l.ttl,
      key: l.counterKey,
      tracker: l.tracker,
      name: l.name,
      windowSeconds: l.windowSeconds,
      retryAfter: Math.max(1, r?.timeToExpire ?? 1),
    };
  }

  /** The 429 for a refusal, naming the limit that the client waits for. */
  exception(detail: RateLimitDetail): AppException {
    return new AppException(
      ErrorCode.RATE_LIMIT_EXCEEDED,
      `Too many requests, please try again later (limit "${detail.name}": ${detail.limit} per ${detail.windowSeconds} s)`,
      { retryAfter: detail.retryAfter },
    );
  }

  states(decision: RateLimitDecision): RateLimitState[] {
    return decision.policy.limits.map((l, i) => ({
      name: l.name,
      limit: l.limit,
      windowSeconds: l.windowSeconds,
      remaining: remaining(l, decision.records[i]),
      reset: decision.records[i].timeToExpire,
    }));
  }
}

function remaining(limit: ResolvedLimit, r: CounterRecord): number {
  return limit.limit > r.totalHits ? limit.limit - r.totalHits : 0;
}

function moreRestrictive(la: ResolvedLimit, a: CounterRecord, lb: ResolvedLimit, b: CounterRecord): boolean {
  if (a.isBlocked !== b.isBlocked) return a.isBlocked;
  if (a.isBlocked) return a.resetMs > b.resetMs;
  const ra = remaining(la, a);
  const rb = remaining(lb, b);
  if (ra !== rb) return ra < rb;
  return a.resetMs > b.resetMs;
}

/** Index of the refusing limit whose window ends last, or -1 when none refuses. */
function lastToFreeUp(records: readonly CounterRecord[]): number {
  let pick = -1;
  for (let i = 0; i < records.length; i++) {
    if (records[i].isBlocked && (pick < 0 || records[i].resetMs > records[pick].resetMs)) pick = i;
  }
  return pick;
}
