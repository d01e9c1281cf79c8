import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuthKey } from '../auth/auth-key';
import { BufferedWriter, type PartHandle } from '../writer/buffered-writer.service';
import type { WriterPart } from '../writer/writer-part';
import { compareRollups, RollupRow, writeUsage } from './usage-batch';

export const REQUESTS_METRIC = 'requests';

/** One segment's usage: counter rows by (consumer, minute, metric, key), and the keys' latest use. */
export interface UsageAggregate {
  rows: Map<string, RollupRow>;
  lastUsed: Map<string, number>;
}

/**
 * Meters usage without touching the database on the request path: `record()` adds to an in-memory
 * counter per (consumer, minute, metric, key) of the buffered writer's open segment, remembers the key
 * for lastUsedAt, and queues one journal line; the writer hands the line to the kernel before the answer
 * leaves and writes the counters in multi-row upserts that add, with the rest of the segment, in one
 * transaction recorded under the segment's id (see BufferedWriter).
 *
 * Memory is bounded by USAGE_BUFFER_MAX_ROWS rows across the writer: past it, counts that would need a new
 * row are dropped and counted in `tollgate_writer_dropped_total`; counts for rows already buffered still
 * accumulate.
 */
@Injectable()
export class UsageRecorder implements WriterPart<UsageAggregate> {
  readonly tag = 'u';
  /** usage_metric_totals gets the rows every flush of every instance adds to: last, see addMetricTotals. */
  readonly writtenLast = true;
  private readonly handle: PartHandle<UsageAggregate>;
  /** Per key record, its `requests` row in the open segment (valid while segment and minute match). */
  private readonly requestRows = new WeakMap<AuthKey, { rows: Map<string, RollupRow>; bucket: number; row: RollupRow }>();

  constructor(private readonly writer: BufferedWriter) {
    this.handle = writer.register(this);
  }

  /**
   * Counts `quantity` of `metric` for a key at `at` (ms). O(1), no I/O. Admin keys belong to no
   * consumer and are not metered: only their lastUsedAt is kept (in memory, not journaled).
   */
  record(key: AuthKey, metric: string, quantity: number, at = Date.now()): void {
    if (!(quantity > 0)) return;
    const agg = this.writer.current(this.handle);
    const seen = agg.lastUsed.get(key.id);
    if (seen === undefined || seen < at) agg.lastUsed.set(key.id, at);
    const consumer = key.consumer;
    if (!consumer) return;
    const bucket = Math.floor(at / 60_000);
    const line = `u\t${consumer.id}\t${bucket}\t${metric}\t${key.id}\t${key.environment}\t${quantity}\t${at}\n`;
    // Requests, the count of every call: the key record's row of this minute, without building its id.
    const slot = metric === REQUESTS_METRIC ? this.requestRows.get(key) : undefined;
    if (slot !== undefined && slot.bucket === bucket && slot.rows === agg.rows) {
      slot.row.quantity += quantity;
      this.writer.append(line, 0);
      return;
    }
    const id = `${consumer.id}\u0000${bucket}\u0000${metric}\u0000${key.id}`;
    const row = agg.rows.get(id);
    if (row) {
      row.quantity += quantity;
      if (metric === REQUESTS_METRIC) this.requestRows.set(key, { rows: agg.rows, bucket, row });
      this.writer.append(line, 0);
      return;
    }
    if (this.writer.full) {
      this.writer.drop(quantity);
      return;
    }
    const added: RollupRow = { consumer_id: consumer.id, bucket, metric, key_id: key.id, environment: key.environment, quantity };
    agg.rows.set(id, added);
    if (metric === REQUESTS_METRIC) this.requestRows.set(key, { rows: agg.rows, bucket, row: added });
    this.writer.append(line, 1);
  }

  /** Rows waiting in the writer (all its parts). */
  get pendingRows(): number {
    return this.writer.rowsWaiting;
  }

  flush(): Promise<boolean> {
    return this.writer.flush();
  }

  create(): UsageAggregate {
    return { rows: new Map(), lastUsed: new Map() };
  }

  replay(agg: UsageAggregate, line: string): number {
    const [consumer_id, bucket, metric, key_id, environment, quantity, at] = line.split('\t');
    const seen = agg.lastUsed.get(key_id);
    if (seen === undefined || seen < Number(at)) agg.lastUsed.set(key_id, Number(at));
    const id = `${consumer_id}\u0000${bucket}\u0000${metric}\u0000${key_id}`;
    const row = agg.rows.get(id);
    if (row) {
      row.quantity += Number(quantity);
      return 0;
    }
    agg.rows.set(id, { consumer_id, bucket: Number(bucket), metric, key_id, environment, quantity: Number(quantity) });
    return 1;
  }

  dump(agg: UsageAggregate): string {
    let out = '';
    for (const r of agg.rows.values()) {
      out += `u\t${r.consumer_id}\t${r.bucket}\t${r.metric}\t${r.key_id}\t${r.environment}\t${r.quantity}\t${agg.lastUsed.get(r.key_id) ?? r.bucket * 60_000}\n`;
    }
    return out;
  }

  isEmpty(agg: UsageAggregate): boolean {
    return agg.rows.size === 0 && agg.lastUsed.size === 0;
  }

  /** Sorted by primary key, so that instances writing the same rows lock them in the same order. */
  async write(m: EntityManager, agg: UsageAggregate): Promise<void> {
    const rows = [...agg.rows.values()].sort(compareRollups);
    let lastUsed: { keyIds: string[]; at: number } | null = null;
    if (agg.lastUsed.size) {
      let at = 0;
      for (const t of agg.lastUsed.values()) if (t > at) at = t;
      lastUsed = { keyIds: [...agg.lastUsed.keys()].sort(), at };
    }
    await writeUsage(m, rows, lastUsed);
  }
}
