import { Injectable, Logger } from '@nestjs/common';
import type { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

type Child = ReturnType<Counter<'decision' | 'kind'>['labels']>;

/**
 * A count kept in a plain number on the request path and handed to its Prometheus child when the metric
 * is read: prom-client hashes the labels on every inc(), even on a labelled child.
 */
export class Tally {
  private n = 0;

  constructor(private readonly child: Child) {}

  inc(): void {
    this.n++;
  }

  flush(): void {
    if (this.n === 0) return;
    this.child.inc(this.n);
    this.n = 0;
  }
}

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
    const decisions = metrics.rateLimitDecisions;
    this.rateAllowed = new Tally(decisions.labels('allowed', 'rate'));
    this.rateLimited = new Tally(decisions.labels('limited', 'rate'));
    this.quotaAllowed = new Tally(decisions.labels('allowed', 'quota'));
    this.quotaLimited = new Tally(decisions.labels('limited', 'quota'));
    const tallies = [this.rateAllowed, this.rateLimited, this.quotaAllowed, this.quotaLimited];
    // prom-client calls collect() before it reads the metric (a scrape, or get() in a test).
    const collectable = decisions as unknown as { collect?: () => unknown };
    const previous = collectable.collect;
    collectable.collect = function (this: unknown) {
      for (const t of tallies) t.flush();
      return previous?.call(this);
    };
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
