import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AuthKey } from '../auth/auth-key';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import type { EnvironmentVariables } from '../config/env.validation';
import type { RateLimitAlertSink } from '../webhooks/hot-path-alerts';
import { buildPolicy, type DefaultLimit, type LimitPolicy } from './limit-policy';
import { LimiterMetrics } from './limiter-metrics';
import { COUNTER_STORE, type CounterStore, type LimitResult, MemoryCounterStore } from './storage';

/** The outcome of applying (or reading) every limit of one key. */
export interface RateLimitDecision {
  allowed: boolean;
  policy: LimitPolicy;
  /** In the order of policy.limits. */
  results: LimitResult[];
}

/** One limit as an answer shows it (GET /v1/me, POST /v1/keys/verify). */
export interface RateLimitState {
  name: string;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  reset: number;
}

interface HeaderTarget {
  header(name: string, value: string | number): unknown;
}

const seconds = (ms: number): number => Math.ceil(ms / 1000);

/**
 * Applies a key's named limits: all of them in one store call (one Redis round trip), on counters that
 * do not depend on the route. Used by the global RateLimitGuard, by key verification and by /v1/me.
 */
@Injectable()
export class RateLimitService {
  /** Key records are rebuilt on every change, so a policy cached per record is never stale. */
  private readonly policies = new WeakMap<AuthKey, LimitPolicy>();
  /** The in-process store answers without a promise; the guard then decides without an await. */
  private readonly syncStore: MemoryCounterStore | null;
  readonly defaults: DefaultLimit;
  /** Told of each refused request (rate_limit.exceeded webhooks); set by the webhooks module. */
  alerts: RateLimitAlertSink | null = null;

  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    private readonly metrics: LimiterMetrics,
    config: ConfigService<EnvironmentVariables, true>,
  ) {
    this.syncStore = store instanceof MemoryCounterStore ? store : null;
    this.defaults = {
      limit: config.get('DEFAULT_RATE_LIMIT', { infer: true }),
      windowSeconds: config.get('DEFAULT_RATE_LIMIT_WINDOW_SECONDS', { infer: true }),
    };
  }

  policyFor(key: AuthKey): LimitPolicy {
    let policy = this.policies.get(key);
    if (policy === undefined) {
      policy = buildPolicy(key, this.defaults);
      this.policies.set(key, policy);
    }
    return policy;
  }

  /** Consumes one request from every limit of the key (cost 1), or reads them without consuming (cost 0). */
  async hit(key: AuthKey, cost: 0 | 1): Promise<RateLimitDecision> {
    return this.apply(key, cost);
  }

  /** hit(), answered synchronously when the store allows it (no Redis): the hot path of the guard. */
  apply(key: AuthKey, cost: 0 | 1): RateLimitDecision | Promise<RateLimitDecision> {
    const policy = this.policyFor(key);
    const checks = cost === 0 ? policy.peek : policy.consume;
    if (this.syncStore !== null) return this.decide(policy, this.syncStore.hitSync(checks), cost, key);
    return this.store.hit(checks).then((results) => this.decide(policy, results, cost, key));
  }

  private decide(policy: LimitPolicy, results: LimitResult[], cost: 0 | 1, key: AuthKey): RateLimitDecision {
    let allowed = true;
    for (let i = 0; i < results.length; i++) {
      if (!results[i].allowed) {
        allowed = false;
        break;
      }
    }
    if (cost !== 0) (allowed ? this.metrics.rateAllowed : this.metrics.rateLimited).inc();
    if (!allowed && cost !== 0 && this.alerts !== null) this.alerts.rateLimited(key, policy, results);
    return { allowed, policy, results };
  }

  /**
   * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11) for every limit, and
   * `X-RateLimit-*` for the most restrictive one: when refused, the refusing limit that frees up last;
   * otherwise the one with the fewest requests left.
   */
  setHeaders(reply: HeaderTarget, decision: RateLimitDecision): void {
    const { policy, results } = decision;
    let item = '';
    let pick = 0;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      item += (i === 0 ? '' : ', ') + policy.itemPrefixes[i] + r.remaining + ';t=' + seconds(r.resetMs);
      if (i > 0 && moreRestrictive(r, results[pick])) pick = i;
    }
    reply.header('RateLimit-Policy', policy.policyHeader);
    reply.header('RateLimit', item);
    if (results.length === 0) return;
    const chosen = results[pick];
    reply.header('X-RateLimit-Limit', chosen.limit);
    reply.header('X-RateLimit-Remaining', chosen.remaining);
    reply.header('X-RateLimit-Reset', seconds(chosen.resetMs));
  }

  /** Seconds until every refusing limit has room again. */
  retryAfter(decision: RateLimitDecision): number {
    const i = lastToFreeUp(decision.results);
    return i < 0 ? 1 : Math.max(1, seconds(decision.results[i].resetMs));
  }

  /** The 429 for a refused decision, naming the limit that the client waits for. */
  exceeded(decision: RateLimitDecision): AppException {
    const limit = decision.policy.limits[lastToFreeUp(decision.results)];
    const which = limit ? ` (limit "${limit.name}": ${limit.limit} per ${limit.windowSeconds} s)` : '';
    return new AppException(ErrorCode.RATE_LIMIT_EXCEEDED, `Too many requests, please try again later${which}`, {
      retryAfter: this.retryAfter(decision),
    });
  }

  states(decision: RateLimitDecision): RateLimitState[] {
    return decision.policy.limits.map((l, i) => ({
      name: l.name,
      limit: l.limit,
      remaining: decision.results[i].remaining,
      reset: seconds(decision.results[i].resetMs),
    }));
  }
}

function moreRestrictive(a: LimitResult, b: LimitResult): boolean {
  if (a.allowed !== b.allowed) return !a.allowed;
  if (!a.allowed) return a.resetMs > b.resetMs;
  if (a.remaining !== b.remaining) return a.remaining < b.remaining;
  return a.resetMs > b.resetMs;
}

/** Index of the refusing limit whose window ends last, or -1 when none refuses. */
function lastToFreeUp(results: readonly LimitResult[]): number {
  let pick = -1;
  for (let i = 0; i < results.length; i++) {
    if (!results[i].allowed && (pick < 0 || results[i].resetMs > results[pick].resetMs)) pick = i;
  }
  return pick;
}
