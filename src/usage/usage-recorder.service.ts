import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { AuthKey } from '../auth/auth-key';
import { newId } from '../common/ids';
import { usageConfig } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';
import { compareRollups, RollupRow, UsageBatch } from './usage-batch';
import { UsageSink } from './usage-sink.service';

export const REQUESTS_METRIC = 'requests';

/** Retry delays after a failed flush grow from the flush interval up to this. */
const MAX_BACKOFF_MS = 15_000;
/** On shutdown, how long failed flushes are retried before the remaining counts are given up. */
const SHUTDOWN_FLUSH_MS = 10_000;
const DROP_WARNING_EVERY_MS = 10_000;

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  batchRows: number;
  maxRows: number;
}

/**
 * Meters usage without touching the database on the request path: `record()` adds to an in-memory
 * counter per (consumer, minute, metric, key) and remembers the key for lastUsedAt; a single flusher
 * writes the counters in batches (multi-row upserts that add) at least every flush interval, and as soon
 * as the buffer holds a batch worth of rows.
 *
 * A batch that fails stays queued with its id and is retried, with backoff, before anything newer;
 * meanwhile new counts keep accumulating in the buffer. The id is written with the batch, so a retry
 * of a batch whose commit did happen (the answer was lost) is recognised and skipped: each count is
 * written once. Memory is bounded by `maxRows` counter rows (queued + buffered): past it, counts that
 * would need a new row are dropped and counted in `tollgate_usage_dropped_total`; counts for rows
 * already buffered still accumulate.
 */
@Injectable()
export class UsageRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Usage');
  private readonly opts: UsageRecorderOptions;
  private buffer = new Map<string, RollupRow>();
  private bufferOldestAt = 0;
  private lastUsed = new Map<string, number>();
  /** Per key record, its `requests` row in the current buffer (valid while buffer and minute match). */
  private readonly requestRows = new WeakMap<AuthKey, { buffer: Map<string, RollupRow>; bucket: number; row: RollupRow }>();
  private readonly queue: UsageBatch[] = [];
  private queuedRows = 0;
  private flushing: Promise<boolean> | null = null;
  private kicked = false;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private retryAt = 0;
  private stopped = false;
  private lastDropWarning = 0;

  constructor(
    private readonly sink: UsageSink,
    private readonly metrics: MetricsService,
    @Inject(usageConfig.KEY) usage: ConfigType<typeof usageConfig>,
  ) {
    this.opts = {
      flushIntervalMs: usage.flushIntervalMs,
      batchRows: usage.flushBatchRows,
      maxRows: usage.bufferMaxRows,
    };
  }

  onModuleInit(): void {
    this.schedule(this.opts.flushIntervalMs);
  }

  /**
   * Counts `quantity` of `metric` for a key at `at` (ms). O(1), no I/O. Admin keys belong to no
   * consumer and are not metered: only their lastUsedAt is kept.
   */
  record(key: AuthKey, metric: string, quantity: number, at = Date.now()): void {
    if (!(quantity > 0)) return;
    const seen = this.lastUsed.get(key.id);
    if (seen === undefined || seen < at) this.lastUsed.set(key.id, at);
    const consumer = key.consumer;
    if (!consumer) return;
    const bucket = Math.floor(at / 60_000);
    // Requests, the count of every call: the key record's row of this minute, without building its id.
    const slot = metric === REQUESTS_METRIC ? this.requestRows.get(key) : undefined;
    if (slot !== undefined && slot.bucket === bucket && slot.buffer === this.buffer) {
      slot.row.quantity += quantity;
      return;
    }
    const id = `${consumer.id}\u0000${bucket}\u0000${metric}\u0000${key.id}`;
    const row = this.buffer.get(id);
    if (row) {
      row.quantity += quantity;
      if (metric === REQUESTS_METRIC) this.requestRows.set(key, { buffer: this.buffer, bucket, row });
      return;
    }
    if (this.buffer.size + this.queuedRows >= this.opts.maxRows) {
      this.drop(quantity);
      return;
    }
    const added: RollupRow = { consumer_id: consumer.id, bucket, metric, key_id: key.id, environment: key.environment, quantity };
    this.buffer.set(id, added);
    if (metric === REQUESTS_METRIC) this.requestRows.set(key, { buffer: this.buffer, bucket, row: added });
    if (this.bufferOldestAt === 0 || at < this.bufferOldestAt) this.bufferOldestAt = at;
    if (this.buffer.size >= this.opts.batchRows) this.kick();
  }

  /** Counter rows waiting (buffered + queued after a failure). */
  get pendingRows(): number {
    return this.buffer.size + this.queuedRows;
  }

  /**
   * Writes what is buffered. One flusher at a time: a call during a flush joins it. Resolves false
   * when a write failed (the counts are kept and retried).
   */
  flush(): Promise<boolean> {
    if (!this.flushing) {
      this.flushing = this.drain().finally(() => {
        this.flushing = null;
        this.updateGauges();
      });
    }
    return this.flushing;
  }

  /**
   * Runs after the HTTP server has stopped taking requests (Nest closes the adapter before this hook,
   * and this module's hook runs before the global database module's), so every counted request is in
   * the buffer. Failed writes are retried for a short while.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
    for (let attempt = 0; ; attempt++) {
      const done = (await this.flush()) && this.isEmpty();
      if (done) return;
      if (Date.now() >= deadline) {
        this.logger.error(`shutting down with ${this.pendingRows} usage counter rows not written: the database did not accept them`);
        return;
      }
      await sleep(Math.min(100 * 2 ** attempt, 1000));
    }
  }

  private isEmpty(): boolean {
    return this.buffer.size === 0 && this.queue.length === 0 && this.lastUsed.size === 0;
  }

  private async drain(): Promise<boolean> {
    for (let round = 1; ; round++) {
      this.cut();
      if (!this.queue.length) return true;
      const started = performance.now();
      while (this.queue.length) {
        const batch = this.queue[0];
        try {
          await this.sink.write(batch);
        } catch (err) {
          this.failures++;
          const delay = Math.min(this.opts.flushIntervalMs * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
          this.retryAt = Date.now() + delay * (0.75 + Math.random() * 0.5);
          this.metrics.usageFlushFailures.inc();
          this.logger.warn(
            `usage flush failed (${this.failures} in a row), ${this.pendingRows} counter rows kept, retrying in ${Math.round(delay)} ms: ${(err as Error)?.message}`,
          );
          return false;
        }
        this.queue.shift();
        this.queuedRows -= batch.rows.length;
        this.metrics.usageFlushedRows.inc(batch.rows.length);
      }
      this.metrics.usageFlushDuration.observe((performance.now() - started) / 1000);
      if (this.failures) this.logger.log(`usage flush recovered after ${this.failures} failed attempts`);
      this.failures = 0;
      this.retryAt = 0;
      // Counts that arrived while writing (or while a failed batch waited) go out too, but under
      // steady traffic the loop ends and leaves the newest ones to the next tick.
      if (this.buffer.size === 0 && this.lastUsed.size === 0) return true;
      if (round >= 2 && this.buffer.size < this.opts.batchRows) return true;
    }
  }

  /** Moves the buffer into queued batches, sorted by key; only when nothing older is still queued. */
  private cut(): void {
    if (this.queue.length || (this.buffer.size === 0 && this.lastUsed.size === 0)) return;
    const rows = [...this.buffer.values()].sort(compareRollups);
    const oldestAt = this.bufferOldestAt || Date.now();
    let lastUsed: UsageBatch['lastUsed'] = null;
    if (this.lastUsed.size) {
      let at = 0;
      for (const t of this.lastUsed.values()) if (t > at) at = t;
      lastUsed = { keyIds: [...this.lastUsed.keys()].sort(), at };
    }
    this.buffer = new Map();
    this.bufferOldestAt = 0;
    this.lastUsed = new Map();
    const size = this.opts.batchRows;
    for (let i = 0; i === 0 || i < rows.length; i += size) {
      this.queue.push({ id: newId('flush'), rows: rows.slice(i, i + size), lastUsed: i === 0 ? lastUsed : null, oldestAt });
    }
    this.queuedRows += rows.length;
  }

  private kick(): void {
    if (this.kicked || this.flushing || this.stopped || Date.now() < this.retryAt) return;
    this.kicked = true;
    // Not on the request's own stack: the cut sorts a batch worth of rows.
    setImmediate(() => {
      this.kicked = false;
      void this.flush();
    });
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (Date.now() >= this.retryAt) await this.flush();
    this.updateGauges();
    this.schedule(this.retryAt > Date.now() ? Math.min(this.retryAt - Date.now(), this.opts.flushIntervalMs) : this.opts.flushIntervalMs);
  }

  private updateGauges(): void {
    this.metrics.usageBufferRows.set(this.pendingRows);
    const oldest = Math.min(this.queue[0]?.oldestAt ?? Infinity, this.bufferOldestAt || Infinity);
    this.metrics.usageFlushLag.set(Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) / 1000 : 0);
  }

  private drop(quantity: number): void {
    this.metrics.usageDropped.inc(quantity);
    const now = Date.now();
    if (now - this.lastDropWarning >= DROP_WARNING_EVERY_MS) {
      this.lastDropWarning = now;
      this.logger.error(`usage buffer full (${this.opts.maxRows} counter rows): counts for new rows are being dropped until the database accepts writes`);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
