import { Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

type Child = ReturnType<Counter<'decision' | 'kind'>['labels']>;

/**
 * What the limiters report: one counter per decision (children resolved once, so that recording costs
 * an increment and no label lookup) and the state of Redis as the limiters see it.
 *
 * Both the rate limiter and the quota counters use Redis and fall back to local state on their own; the
 * gauge is 1 while either of them is degraded, and an outage is counted once when the first one notices.
 */
@Injectable()
export class LimiterMetrics {
  private readonly logger = new Logger('RateLimit');
  private readonly degradedSources = new Set<string>();
  readonly rateAllowed: Child;
  readonly rateLimited: Child;
  readonly quotaAllowed: Child;
  readonly quotaLimited: Child;

  constructor(private readonly metrics: MetricsService) {
    const decisions = metrics.rateLimitDecisions;
    this.rateAllowed = decisions.labels('allowed', 'rate');
    this.rateLimited = decisions.labels('limited', 'rate');
    this.quotaAllowed = decisions.labels('allowed', 'quota');
    this.quotaLimited = decisions.labels('limited', 'quota');
  }

  get redisDegraded(): boolean {
    return this.degradedSources.size > 0;
  }

  /** `source` stopped reaching Redis (called once per outage by each source). */
  degraded(source: string): void {
    if (this.degradedSources.has(source)) return;
    if (this.degradedSources.size === 0) {
      this.metrics.redisOutages.inc();
      this.metrics.redisDegraded.set(1);
    }
    this.degradedSources.add(source);
  }

  recovered(source: string): void {
    if (!this.degradedSources.delete(source)) return;
    if (this.degradedSources.size === 0) {
      this.metrics.redisDegraded.set(0);
      this.logger.log('Redis answers again: limits are shared across instances again');
    }
  }
}
