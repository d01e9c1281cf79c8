import type { DataSource } from 'typeorm';
import { MINUTES_PER_DAY } from '../billing/usage-totals';
import { AppException } from '../common/app.exception';
import { MAX_CONSUMERS_READ, MAX_ROWS_READ } from './usage-query';

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
