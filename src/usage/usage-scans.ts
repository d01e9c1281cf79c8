import type { DataSource } from 'typeorm';
import { MINUTES_PER_DAY } from '../billing/usage-totals';
import { AppException } from '../common/app.exception';
import { toNumber } from '../database/sql';
import { AggregateRow, Granularity, MAX_CONSUMERS_READ, MAX_ROWS_READ, SQL_BUCKET_MINUTES } from './usage-query';

/**
 * Bounds the work of one answer by the stored rows it reads, not by its range alone: the density of
 * rollups varies (a month of one consumer may be 100 rows or millions). Counting stops one row past
 * the bound (an OFFSET probe, which neither sorts nor materializes), over the same key range the
 * aggregate then reads, so the check reads at most that many index entries.
 */
export async function refuseLargeScans(db: DataSource, table: string, where: string, params: unknown[]): Promise<void> {
  const beyond = await db.query(`SELECT 1 AS x FROM ${table} WHERE ${where} LIMIT 1 OFFSET ${MAX_ROWS_READ}`, params);
  if (beyond.length > 0) {
    throw AppException.validation(
      [{ field: 'to', message: `the range holds more than ${MAX_ROWS_READ} stored usage rows` }],
      `The range holds more than ${MAX_ROWS_READ} stored usage rows: narrow it, filter by metric, name a consumer, or group by metric`,
    );
  }
}

/**
 * The consumers with usage (of `metric`, when given) in the days that the minutes `[first, end)` touch,
 * sorted: what a read across consumers grouped by consumer or key then reads from the rollups, one key
 * range per consumer, since the rollups are keyed by consumer first and have no index by time. Found in
 * usage_daily_totals through its index by day: at most MAX_CONSUMERS_READ consumers, from at most
 * MAX_ROWS_READ daily rows, or a 400 saying which bound was passed.
 */
export async function consumersWithUsage(db: DataSource, first: number, end: number, metric: string | undefined): Promise<string[]> {
  const where = ['day >= ?', 'day < ?'];
  const params: unknown[] = [Math.floor(first / MINUTES_PER_DAY), Math.ceil(end / MINUTES_PER_DAY)];
  if (metric) {
    where.push('metric = ?');
    params.push(metric);
  }
  await refuseLargeScans(db, 'usage_daily_totals', where.join(' AND '), params);
  const rows: { consumer_id: string }[] = await db.query(
    `SELECT DISTINCT consumer_id FROM usage_daily_totals WHERE ${where.join(' AND ')} LIMIT ${MAX_CONSUMERS_READ + 1}`,
    params,
  );
  if (rows.length > MAX_CONSUMERS_READ) {
    throw AppException.validation(
      [{ field: 'groupBy', message: `more than ${MAX_CONSUMERS_READ} consumers have usage in the range` }],
      `More than ${MAX_CONSUMERS_READ} consumers have usage in the range: name a consumer, group by metric, filter by metric, or narrow the range`,
    );
  }
  return rows.map((r) => r.consumer_id).sort();
}

/** One aggregate read of the rollups: these consumers' key ranges, the minutes `[first, end)`. */
export interface RollupRead {
  consumers: string[];
  first: number;
  end: number;
  granularity: Granularity;
  /** Grouped by these, `metric` first, then `key_id` and/or `consumer_id`, and by the granularity's bucket. */
  columns: string[];
  metric?: string;
  keyId?: string;
  /** At most this many rows are read (one past what the caller can answer with, to know it was passed). */
  maxRows: number;
}

/**
 * Reads the per-minute rollups, aggregated in SQL with integer arithmetic on the bucket (`bucket - bucket
 * % 60` is the hour on both databases), one key range per consumer (the rollups are keyed by consumer
 * first); refused with a 400 past MAX_ROWS_READ stored rows.
 */
export async function readRollups(db: DataSource, read: RollupRead): Promise<AggregateRow[]> {
  const { consumers, columns } = read;
  const size = SQL_BUCKET_MINUTES[read.granularity];
  const bucket = size === 1 ? 'bucket' : `(bucket - bucket % ${size})`;
  const where = [consumers.length === 1 ? 'consumer_id = ?' : `consumer_id IN (${consumers.map(() => '?').join(', ')})`, 'bucket >= ?', 'bucket < ?'];
  const params: unknown[] = [...consumers, read.first, read.end];
  if (read.metric) {
    where.push('metric = ?');
    params.push(read.metric);
  }
  if (read.keyId !== undefined) {
    where.push('key_id = ?');
    params.push(read.keyId);
  }
  await refuseLargeScans(db, 'usage_rollups', where.join(' AND '), params);
  const rows: Record<string, unknown>[] = await db.query(
    `SELECT ${columns.join(', ')}, ${bucket} AS b, SUM(quantity) AS q FROM usage_rollups WHERE ${where.join(' AND ')} ` +
      `GROUP BY ${columns.join(', ')}, ${bucket} ORDER BY ${columns.join(', ')}, b LIMIT ${read.maxRows}`,
    params,
  );
  return rows.map((r) => ({
    metric: String(r.metric),
    keyId: columns.includes('key_id') ? String(r.key_id) : undefined,
    consumerId: columns.includes('consumer_id') ? String(r.consumer_id) : undefined,
    bucket: toNumber(r.b),
    quantity: toNumber(r.q),
  }));
}
