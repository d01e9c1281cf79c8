import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { randomBase62 } from '../auth/key-format';
import { newId } from '../common/ids';
import { webhooksConfig } from '../config/settings';
import { type Dialect, dialectOf } from '../database/dialect';
import { sqlTime, toDate, toNumber } from '../database/sql';
import { Transactions } from '../database/transactions';
import { BufferedWriter, type PartHandle } from '../writer/buffered-writer.service';
import type { WriterPart } from '../writer/writer-part';
import { retryDelayMs } from './retry-schedule';
import { signatureHeader } from './signing';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { DeliveryOutcome, WebhookMetrics } from './webhook-metrics';
import { WebhookOutbox } from './webhook-outbox.service';
import { SendResult, WebhookSender } from './webhook-sender';

interface Claimed {
  id: string;
  token: string;
  attempt: number;
  endpointId: string;
  eventId: string;
  payload: string;
  createdAt: Date;
  url: string | null;
  enabled: boolean;
  secrets: string[];
}

/** What an attempt's outcome needs of its claim (and all its journal line holds: no payload, no secret). */
type ClaimRef = Pick<Claimed, 'id' | 'token' | 'attempt' | 'endpointId'>;

interface Outcome {
  claimed: ClaimRef;
  startedAt: Date;
  /** Null: the endpoint is gone or disabled, nothing was sent. */
  result: SendResult | null;
}

interface OutcomeAggregate {
  outcomes: Outcome[];
  /** Set by the write: some attempt failed (then endpoints may have failed long enough to be disabled). */
  failed: boolean;
}

/** Outcomes are written by the buffered writer at most this long after the attempt ended. */
const OUTCOME_FLUSH_MS = 50;
/** On shutdown, deliveries in flight get this long to finish; the rest are retried after their lease. */
const SHUTDOWN_WAIT_MS = 5000;

/**
 * Delivers the outbox. Each instance claims due deliveries — on MySQL with SELECT … FOR UPDATE SKIP LOCKED,
 * so that instances never claim the same row; SQLite runs one instance — by moving next_attempt_at one
 * lease ahead and stamping a claim token. A claim that is never resolved (the instance died mid-delivery)
 * is claimed again when its lease ends: delivery is at least once, never lost. Outcomes are written in
 * batches; a failure schedules the next attempt with exponential backoff, the last one marks the delivery
 * failed, and an endpoint that has failed for WEBHOOK_DISABLE_AFTER_SECONDS without a success is disabled.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown, WriterPart<OutcomeAggregate> {
  readonly tag = 'd';
  private readonly handle: PartHandle<OutcomeAggregate>;
  private readonly logger = new Logger('Webhooks');
  private readonly sender: WebhookSender;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly disableAfterMs: number;
  private readonly dialect: Dialect;

  private readonly ready: Claimed[] = [];
  private inFlight = 0;
  private claiming = false;
  private claimFailing = false;
  private moreDue = false;
  private stopped = false;
  private pollTimer?: NodeJS.Timeout;
  private wakeTimer?: NodeJS.Timeout;
  private idle?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly outbox: WebhookOutbox,
    private readonly endpoints: WebhookEndpointsService,
    private readonly metrics: WebhookMetrics,
    private readonly writer: BufferedWriter,
    @Inject(webhooksConfig.KEY) webhooks: ConfigType<typeof webhooksConfig>,
  ) {
    this.handle = writer.register(this);
    this.concurrency = webhooks.concurrency;
    this.pollMs = webhooks.pollIntervalMs;
    this.leaseMs = webhooks.leaseMs;
    this.maxAttempts = webhooks.maxAttempts;
    this.retryBaseMs = webhooks.retryBaseMs;
    this.disableAfterMs = webhooks.disableAfterMs;
    this.dialect = dialectOf(dataSource);
    this.sender = new WebhookSender({
      timeoutMs: webhooks.timeoutMs,
      allowPrivate: webhooks.allowPrivateTargets,
      maxSockets: this.concurrency,
    });
  }

  onApplicationBootstrap(): void {
    // Events written here are claimed at once; those written by other instances at the next poll.
    this.outbox.onWritten(() => this.wake(5));
    this.schedulePoll(Math.min(this.pollMs, 500));
  }

  /** Before the buffered writer's last flush (in onApplicationShutdown): the attempts in flight end first. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.wakeTimer);
    this.ready.length = 0;
    if (this.inFlight > 0) {
      await new Promise<void>((ok) => {
        const t = setTimeout(ok, SHUTDOWN_WAIT_MS);
        this.idle = () => {
          clearTimeout(t);
          ok();
        };
      });
    }
  }

  onApplicationShutdown(): void {
    this.sender.close();
  }

  /** Claims and starts due deliveries soon (after `ms`), unless a claim is already on its way. */
  wake(ms = 0): void {
    if (this.stopped || this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.fill();
    }, ms);
  }

  private schedulePoll(ms: number): void {
    clearTimeout(this.pollTimer);
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      void this.fill().finally(() => this.schedulePoll(this.pollMs));
    }, ms);
    this.pollTimer.unref();
  }

  /** Keeps up to `concurrency` attempts in flight, claiming a batch whenever half the slots are free. */
  private async fill(): Promise<void> {
    if (this.claiming || this.stopped) return;
    const free = this.concurrency * 2 - this.inFlight - this.ready.length;
    if (free < Math.max(1, this.concurrency / 2)) return;
    this.claiming = true;
    try {
      // A power of two: claims come in few statement shapes, which the driver keeps prepared.
      const claimed = await this.claim(2 ** Math.floor(Math.log2(free)));
      this.moreDue = claimed.length === 2 ** Math.floor(Math.log2(free));
      this.ready.push(...claimed);
      if (this.claimFailing) this.logger.log('claiming webhook deliveries again');
      this.claimFailing = false;
    } catch (err) {
      this.moreDue = false;
      // Once per outage, not once per poll.
      if (!this.claimFailing) this.logger.warn(`could not claim webhook deliveries (${(err as Error).message}); retrying every poll`);
      this.claimFailing = true;
    } finally {
      this.claiming = false;
    }
    this.startReady();
  }

  private startReady(): void {
    while (this.inFlight < this.concurrency && this.ready.length > 0 && !this.stopped) {
      const c = this.ready.shift()!;
      this.inFlight++;
      this.metrics.inFlight.set(this.inFlight);
      void this.attempt(c).finally(() => {
        this.inFlight--;
        this.metrics.inFlight.set(this.inFlight);
        if (this.inFlight === 0 && this.idle) this.idle();
        this.startReady();
        if (this.moreDue) void this.fill();
      });
    }
  }

  private async claim(limit: number): Promise<Claimed[]> {
    const work = async (m: EntityManager): Promise<Claimed[]> => {
      const now = new Date();
      const rows: Array<{ id: string }> = await m.query(
        `SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ${Math.floor(limit)}${this.dialect.forUpdate({ skipLocked: true })}`,
        [sqlTime(now)],
      );
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id);
      const marks = ids.map(() => '?').join(', ');
      const token = randomBase62(20);
      await m.query(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, claim_token = ?, updated_at = ? WHERE id IN (${marks})`,
        [sqlTime(new Date(now.getTime() + this.leaseMs)), token, sqlTime(now), ...ids],
      );
      const full: Array<Record<string, unknown>> = await m.query(
        `SELECT d.id, d.attempts, d.endpoint_id, d.event_id, d.created_at, e.payload, p.url, p.enabled, p.secret, p.previous_secret, p.previous_secret_expires_at
           FROM webhook_deliveries d
           JOIN webhook_events e ON e.id = d.event_id
           LEFT JOIN webhook_endpoints p ON p.id = d.endpoint_id
          WHERE d.id IN (${marks})`,
        ids,
      );
      return full.map((r) => {
        const secrets = r.secret ? [String(r.secret)] : [];
        if (r.previous_secret && r.previous_secret_expires_at && toDate(r.previous_secret_expires_at) > now) secrets.push(String(r.previous_secret));
        return {
          id: String(r.id),
          token,
          attempt: toNumber(r.attempts),
          endpointId: String(r.endpoint_id),
          eventId: String(r.event_id),
          payload: String(r.payload),
          createdAt: toDate(r.created_at),
          url: (r.url as string | null) ?? null,
          enabled: toNumber(r.enabled) === 1,
          secrets,
        };
      });
    };
    // READ COMMITTED: no gap locks, so instances skipping each other's rows do not block each other.
    if (!this.dialect.serializesTransactions) return this.dataSource.transaction('READ COMMITTED', work);
    return this.tx.run(work);
  }

  private async attempt(c: Claimed): Promise<void> {
    const startedAt = new Date();
    if (!c.url || !c.enabled) {
      this.record({ claimed: c, startedAt, result: null });
      return;
    }
    if (c.attempt === 1) this.metrics.lag.observe(Math.max(0, startedAt.getTime() - c.createdAt.getTime()) / 1000);
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    const result = await this.sender.send(
      c.url,
      {
        'webhook-id': c.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(c.secrets, c.eventId, timestamp, c.payload),
      },
      c.payload,
    );
    this.metrics.observe(outcomeOf(result), result.durationMs);
    this.record({ claimed: c, startedAt, result });
  }

  /** Hands an attempt's outcome to the buffered writer, which journals it and writes it within OUTCOME_FLUSH_MS. */
  private record(outcome: Outcome): void {
    const { id, token, attempt, endpointId } = outcome.claimed;
    const ref: Outcome = { claimed: { id, token, attempt, endpointId }, startedAt: outcome.startedAt, result: outcome.result };
    this.writer.current(this.handle).outcomes.push(ref);
    this.writer.append(`d\t${JSON.stringify({ c: ref.claimed, s: ref.startedAt.getTime(), r: ref.result })}\n`, 1);
    this.writer.soon(OUTCOME_FLUSH_MS);
  }

  create(): OutcomeAggregate {
    return { outcomes: [], failed: false };
  }

  replay(agg: OutcomeAggregate, line: string): number {
    const o = JSON.parse(line) as { c: ClaimRef; s: number; r: SendResult | null };
    agg.outcomes.push({ claimed: o.c, startedAt: new Date(o.s), result: o.r });
    return 1;
  }

  dump(agg: OutcomeAggregate): string {
    return agg.outcomes.map((o) => `d\t${JSON.stringify({ c: o.claimed, s: o.startedAt.getTime(), r: o.result })}\n`).join('');
  }

  isEmpty(agg: OutcomeAggregate): boolean {
    return agg.outcomes.length === 0;
  }

  /** Attempts and their consequences, in the writer's transaction. */
  async write(m: EntityManager, agg: OutcomeAggregate): Promise<void> {
    agg.failed = await this.writeOutcomes(m, agg.outcomes);
  }

  committed(agg: OutcomeAggregate): void {
    if (agg.failed) void this.disableFailing().catch((err: Error) => this.logger.warn(`could not check failing webhook endpoints: ${err.message}`));
  }

  /** Returns whether any attempt failed (then endpoints may have failed long enough to be disabled). */
  private async writeOutcomes(m: EntityManager, batch: Outcome[]): Promise<boolean> {
    const now = new Date();
    const attempts = batch.filter((o) => o.result !== null);
    for (const chunk of statementChunks(attempts, 128)) {
      await m.query(
        `INSERT INTO webhook_attempts (id, delivery_id, endpoint_id, attempt, started_at, duration_ms, status_code, success, error, response_body) VALUES ${chunk
          .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .join(', ')}`,
        chunk.flatMap((o) => {
          const r = o.result!;
          return [
            newId('wha', o.startedAt.getTime()),
            o.claimed.id,
            o.claimed.endpointId,
            o.claimed.attempt,
            sqlTime(o.startedAt),
            r.durationMs,
            r.statusCode,
            isSuccess(r) ? 1 : 0,
            r.error,
            r.body,
          ];
        }),
      );
    }
    const succeeded = batch.filter((o) => o.result !== null && isSuccess(o.result));
    /** Per endpoint: whether it answered 2xx in this batch, and its first failure after the last success. */
    const endpointState = new Map<string, { succeeded: boolean; failingSince: Date | null }>();
    let failed = false;
    for (const o of batch) {
      const { claimed: c, result: r } = o;
      if (r === null) {
        await m.query(`UPDATE webhook_deliveries SET status = 'canceled', claim_token = NULL, updated_at = ? WHERE id = ? AND claim_token = ?`, [
          sqlTime(now),
          c.id,
          c.token,
        ]);
        continue;
      }
      const state = endpointState.get(c.endpointId) ?? { succeeded: false, failingSince: null };
      endpointState.set(c.endpointId, state);
      if (isSuccess(r)) {
        state.succeeded = true;
        state.failingSince = null;
        continue;
      }
      failed = true;
      state.failingSince ??= o.startedAt;
      const last = c.attempt >= this.maxAttempts;
      await m.query(
        `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, last_status_code = ?, last_attempt_at = ?, last_error = ?, claim_token = NULL, updated_at = ?
          WHERE id = ? AND claim_token = ?`,
        [
          last ? 'failed' : 'pending',
          sqlTime(new Date(now.getTime() + (last ? 0 : retryDelayMs(c.attempt, this.retryBaseMs)))),
          r.statusCode,
          sqlTime(o.startedAt),
          r.error ?? `HTTP ${r.statusCode}`,
          sqlTime(now),
          c.id,
          c.token,
        ],
      );
    }
    for (const chunk of statementChunks(succeeded, 128)) {
      // One statement per chunk: every row gets its own code and time through CASE.
      const codes = chunk.map(() => 'WHEN ? THEN ?').join(' ');
      const times = chunk.map(() => 'WHEN ? THEN ?').join(' ');
      const where = chunk.map(() => '(id = ? AND claim_token = ?)').join(' OR ');
      await m.query(
        `UPDATE webhook_deliveries SET status = 'succeeded', last_error = NULL, claim_token = NULL, updated_at = ?,
           last_status_code = CASE id ${codes} END, last_attempt_at = CASE id ${times} END
         WHERE ${where}`,
        [
          sqlTime(now),
          ...chunk.flatMap((o) => [o.claimed.id, o.result!.statusCode]),
          ...chunk.flatMap((o) => [o.claimed.id, sqlTime(o.startedAt)]),
          ...chunk.flatMap((o) => [o.claimed.id, o.claimed.token]),
        ],
      );
    }
    // In id order, so that instances updating the same endpoints lock them in the same order.
    for (const [endpointId, state] of [...endpointState].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (state.succeeded) {
        await m.query('UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?', [state.failingSince && sqlTime(state.failingSince), endpointId]);
      } else if (state.failingSince) {
        await m.query('UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL', [sqlTime(state.failingSince), endpointId]);
      }
    }
    return failed;
  }

  private async disableFailing(): Promise<void> {
    const cutoff = new Date(Date.now() - this.disableAfterMs);
    const rows: Array<{ id: string }> = await this.dataSource.query(
      'SELECT id FROM webhook_endpoints WHERE enabled = 1 AND failing_since IS NOT NULL AND failing_since <= ?',
      [sqlTime(cutoff)],
    );
    for (const r of rows) {
      try {
        if (await this.endpoints.disableForFailures(r.id, cutoff)) this.metrics.disabled.inc();
      } catch (err) {
        this.logger.warn(`could not disable failing webhook endpoint ${r.id}: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * Splits rows into chunks of power-of-two sizes (128, 64, …, 1), so that multi-row statements come in a
 * few shapes only and the driver's prepared-statement cache serves them instead of parsing each anew.
 */
export function statementChunks<T>(rows: T[], max: number): T[][] {
  const out: T[][] = [];
  let i = 0;
  for (let size = max; size >= 1; size = Math.floor(size / 2)) {
    while (rows.length - i >= size) {
      out.push(rows.slice(i, i + size));
      i += size;
    }
  }
  return out;
}

function isSuccess(r: SendResult): boolean {
  return r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
}

function outcomeOf(r: SendResult): DeliveryOutcome {
  if (r.statusCode === null) return 'network_error';
  return isSuccess(r) ? 'success' : 'http_error';
}
