import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { AuthKey } from '../auth/auth-key';
import { Transactions } from '../database/transactions';
import type { ResolvedLimit } from '../rate-limit/limit-policy';
import { type QuotaConsumption, QuotaService } from '../rate-limit/quota/quota.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import type { CounterRecord } from '../rate-limit/storage';
import { DEFAULT_QUOTA_THRESHOLDS } from './hot-path-alerts';
import type { OutboxEvent } from './webhook-events';
import { WebhookOutbox } from './webhook-outbox.service';

const FLUSH_INTERVAL_MS = 250;
/** Events held while the database cannot be written; past it new ones are dropped (and logged). */
const MAX_QUEUED = 10_000;
/** Remembered occurrences; past it those whose period or window ended go first. */
const MAX_REMEMBERED = 200_000;

/**
 * Events noticed on the request path (quota thresholds, first 429 of a window) and by scans (keys about
 * to expire). The request path never waits on the database: an occurrence is checked against what this
 * instance already reported, queued in memory, and written in batches. Several instances noticing the
 * same occurrence write one event: its dedupe key is unique in the outbox.
 */
@Injectable()
export class WebhookAlerts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  /** Occurrence key → when it stops mattering (epoch ms). */
  private readonly seen = new Map<string, number>();
  private queue: OutboxEvent[] = [];
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private dropped = 0;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly tx: Transactions,
    private readonly outbox: WebhookOutbox,
    private readonly limits: RateLimitService,
    private readonly quotas: QuotaService,
  ) {}

  onApplicationBootstrap(): void {
    this.limits.onFirstExceeded((key, limit, record) => {
      if (!this.stopped) this.rateLimited(key, limit, record);
    });
    this.quotas.onConsumed((consumption) => {
      if (!this.stopped) this.quotaUsed(consumption);
    });
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.flush();
  }

  /** A key's first refused hit in a window of one of its limits (the counter store says which hit that is). */
  private rateLimited(key: AuthKey, limit: ResolvedLimit, record: CounterRecord): void {
    const now = Date.now();
    const endsAt = now + record.resetMs;
    this.notify(
      {
        type: 'rate_limit.exceeded',
        // Instances see the same window end to within milliseconds: whole seconds name the window.
        dedupeKey: `rate_limit.exceeded:${key.id}:${limit.name}:${limit.windowSeconds}:${Math.round(endsAt / 1000)}`,
        data: {
          keyId: key.id,
          consumerId: key.consumer?.id ?? null,
          limit: { name: limit.name, limit: limit.limit, windowSeconds: limit.windowSeconds, scope: limit.scope },
          windowEndsAt: new Date(endsAt).toISOString(),
        },
      },
      endsAt,
    );
  }

  /** Each threshold a consumption reached, once per period (several instances: the dedupe key is unique). */
  private quotaUsed(c: QuotaConsumption): void {
    if (c.limit <= 0) return;
    for (const threshold of c.rule.thresholds ?? DEFAULT_QUOTA_THRESHOLDS) {
      if (c.after * 100 < threshold * c.limit) continue;
      this.notify(
        {
          type: 'quota.threshold',
          dedupeKey: `quota.threshold:${c.consumerId}:${c.metric}:${c.periodEnd}:${threshold}`,
          data: {
            consumerId: c.consumerId,
            keyId: c.keyId,
            metric: c.metric,
            threshold,
            limit: c.limit,
            used: c.after,
            periodEnd: c.periodEnd,
          },
        },
        Date.parse(c.periodEnd),
      );
    }
  }

  /** Queues an event once per dedupe key and instance (scans call this on every pass). */
  notify(event: OutboxEvent & { dedupeKey: string }, relevantUntil: number): void {
    if (this.seen.has(event.dedupeKey)) return;
    this.remember(event.dedupeKey, relevantUntil);
    this.enqueue(event);
  }

  /** Writes what is queued; a failed write keeps the events for the next pass. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.tx
      .run((m) => this.outbox.write(m, batch))
      .then(
        () => {
          this.failing = false;
        },
        (err: Error) => {
          this.queue = batch.concat(this.queue).slice(0, MAX_QUEUED);
          if (!this.failing) this.logger.warn(`webhook alerts not written yet (${err.message}); retrying`);
          this.failing = true;
        },
      )
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private enqueue(event: OutboxEvent): void {
    if (this.queue.length >= MAX_QUEUED) {
      if (this.dropped++ % 1000 === 0) this.logger.warn('webhook alert queue full: dropping alerts until the database answers');
      return;
    }
    this.queue.push(event);
  }

  private remember(id: string, until: number): void {
    if (this.seen.size >= MAX_REMEMBERED) {
      const now = Date.now();
      for (const [k, v] of this.seen) if (v <= now) this.seen.delete(k);
      while (this.seen.size >= MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value as string);
    }
    this.seen.set(id, until);
  }
}
