import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthKey } from '../auth/auth-key';
import type { ResolvedLimit } from '../rate-limit/limit-policy';
import { type QuotaConsumption, QuotaService } from '../rate-limit/quota/quota.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import type { CounterRecord } from '../rate-limit/storage';
import { DEFAULT_QUOTA_THRESHOLDS } from './hot-path-alerts';
import type { OutboxEvent } from './webhook-events';
import { BufferedWriter, type PartHandle } from '../writer/buffered-writer.service';
import type { WriterPart } from '../writer/writer-part';
import { WebhookOutbox } from './webhook-outbox.service';

/** Queued events are written at most this long after they were noticed. */
const FLUSH_WITHIN_MS = 250;
/** Remembered occurrences; past it those whose period or window ended go first. */
const MAX_REMEMBERED = 200_000;

/**
 * Events noticed on the request path (quota thresholds, first 429 of a window) and by scans (keys about
 * to expire). The request path never waits on the database: an occurrence is checked against what this
 * instance already reported and handed to the buffered writer, which journals it before the answer that
 * noticed it leaves and writes it to the outbox with the rest of its segment. Several instances noticing
 * the same occurrence write one event: its dedupe key is unique in the outbox.
 */
@Injectable()
export class WebhookAlerts implements OnApplicationBootstrap, OnApplicationShutdown, WriterPart<OutboxEvent[]> {
  readonly tag = 'a';
  private readonly handle: PartHandle<OutboxEvent[]>;
  /** Occurrence key → when it stops mattering (epoch ms). */
  private readonly seen = new Map<string, number>();
  private stopped = false;

  constructor(
    private readonly writer: BufferedWriter,
    private readonly outbox: WebhookOutbox,
    private readonly limits: RateLimitService,
    private readonly quotas: QuotaService,
  ) {
    this.handle = writer.register(this);
  }

  onApplicationBootstrap(): void {
    this.limits.onFirstExceeded((key, limit, record) => {
      if (!this.stopped) this.rateLimited(key, limit, record);
    });
    this.quotas.onConsumed((consumption) => {
      if (!this.stopped) this.quotaUsed(consumption);
    });
  }

  /** What is queued is written by the writer's own shutdown. */
  onApplicationShutdown(): void {
    this.stopped = true;
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

  /** Writes what is queued (with everything else the writer holds). */
  async flush(): Promise<void> {
    await this.writer.flush();
  }

  private enqueue(event: OutboxEvent): void {
    if (this.writer.full) {
      this.writer.drop(1);
      return;
    }
    this.writer.current(this.handle).push(event);
    this.writer.append(`a\t${JSON.stringify(event)}\n`, 1);
    this.writer.soon(FLUSH_WITHIN_MS);
  }

  create(): OutboxEvent[] {
    return [];
  }

  replay(events: OutboxEvent[], line: string): number {
    events.push(JSON.parse(line) as OutboxEvent);
    return 1;
  }

  dump(events: OutboxEvent[]): string {
    return events.map((e) => `a\t${JSON.stringify(e)}\n`).join('');
  }

  isEmpty(events: OutboxEvent[]): boolean {
    return events.length === 0;
  }

  async write(m: EntityManager, events: OutboxEvent[]): Promise<void> {
    await this.outbox.write(m, events);
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
