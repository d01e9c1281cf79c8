import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { Tallies, type Tally } from '../metrics/tally';

/**
 * What the limiters report: one counter per decision (a plain number on the request path, handed to
 * Prometheus when it reads the metric) and the state of Redis as the limiters see it.
 *
 * Both the rate limiter and the quota counters use Redis and fall back to local state on their own; the
 * gauge is 1 while either of them is degraded, and an outage is counted once when the first one notices.
 */
@Injectable()
export class LimiterMetrics {
  private readonly logger = new Logger('RateLimit');
  private readonly degradedSources = new Set<string>();
  readonly rateAllowed: Tally;
  readonly rateLimited: Tally;
  readonly quotaAllowed: Tally;
  readonly quotaLimited: Tally;

  constructor(private readonly metrics: MetricsService) {
    const decisions = new Tallies(metrics.rateLimitDecisions);
    this.rateAllowed = decisions.of('allowed', 'rate');
    this.rateLimited = decisions.of('limited', 'rate');
    this.quotaAllowed = decisions.of('allowed', 'quota');
    this.quotaLimited = decisions.of('limited', 'quota');
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
