import type { DataSource, EntityManager } from 'typeorm';
import { toNumber, upsertAdd } from '../database/sql';
import { AggregateRow, Granularity, GRANULARITIES, monthStart } from './usage-query';

type Db = DataSource | EntityManager;

const MINUTE_MS = 60_000;
const KEY = ['granularity', 'bucket', 'metric', 'environment'];

/** A counter row as the usage flush writes it (consumer and key are not kept here). */
export interface MetricTotalRow {
  /** Whole minutes since the epoch. */
  bucket: number;
  metric: string;
  environment: string;
  quantity: number;
}

/** Start (whole minutes since the epoch) of the UTC bucket of `granularity` that holds minute `m`. */
export function bucketStart(m: number, granularity: Granularity): number {
  switch (granularity) {
    case 'minute':
      return m;
    case 'hour':
      return m - (m % 60);
    case 'day':
      return m - (m % 1440);
    case 'month':
      return monthStart(m * MINUTE_MS) / MINUTE_MS;
  }
}

/** Start of the first bucket of `granularity` that starts at or after minute `m`. */
function nextBucketStart(m: number, granularity: Granularity): number {
  const start = bucketStart(m, granularity);
  if (start === m) return m;
  if (granularity !== 'month') return start + { minute: 1, hour: 60, day: 1440 }[granularity];
  const d = new Date(start * MINUTE_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / MINUTE_MS;
}

/** Minutes `[first, end)` read at one granularity. */
export interface TotalsPiece {
  granularity: Granularity;
  first: number;
  end: number;
}

/**
 * Covers the minutes `[first, end)` with whole buckets, the coarsest first and no coarser than
 * `granularity`: the whole months in it, then whole days on either side, then hours, then the minutes
 * left at the edges. At most seven pieces, whose buckets together are the range's minutes exactly.
 */
export function coverRange(first: number, end: number, granularity: Granularity): TotalsPiece[] {
  const cover = (a: number, b: number, level: number): TotalsPiece[] => {
    if (a >= b) return [];
    const g = GRANULARITIES[level];
    if (level === 0) return [{ granularity: g, first: a, end: b }];
    const lo = nextBucketStart(a, g);
    const hi = bucketStart(b, g);
    if (lo >= hi) return cover(a, b, level - 1);
    return [...cover(a, lo, level - 1), { granularity: g, first: lo, end: hi }, ...cover(hi, b, level - 1)];
  };
  return cover(first, end, GRANULARITIES.indexOf(granularity));
}

/**
 * Adds counter rows to usage_metric_totals: the usage of all consumers together per metric, environment
 * and bucket, at each granularity the usage API answers. Called by the usage flush with the rows it adds
 * to usage_rollups, in the same transaction. A flush of 5,000 counter rows adds a few rows per minute and
 * metric it covers, so the cost is one short statement; but every flush of every instance adds to the
 * current minute's rows, so call this last in the transaction: the row locks are then held only until
 * the commit.
 */
export async function addMetricTotals(db: Db, rows: readonly MetricTotalRow[]): Promise<void> {
  const perMinute = new Map<string, MetricTotalRow>();
  for (const r of rows) {
    const quantity = toNumber(r.quantity);
    if (quantity === 0) continue;
    const bucket = toNumber(r.bucket);
    const key = `${bucket}\u0000${r.metric}\u0000${r.environment}`;
    const total = perMinute.get(key);
    if (total) total.quantity += quantity;
    else perMinute.set(key, { bucket, metric: r.metric, environment: r.environment, quantity });
  }
  const totals = new Map<string, { granularity: Granularity; bucket: number; metric: string; environment: string; quantity: number }>();
  for (const r of perMinute.values()) {
    for (const granularity of GRANULARITIES) {
      const bucket = bucketStart(r.bucket, granularity);
      const key = `${granularity}\u0000${bucket}\u0000${r.metric}\u0000${r.environment}`;
      const total = totals.get(key);
      if (total) total.quantity += r.quantity;
      else totals.set(key, { granularity, bucket, metric: r.metric, environment: r.environment, quantity: r.quantity });
    }
  }
  // Sorted by primary key, so that concurrent flushes lock rows in the same order.
  const sorted = [...totals.values()].sort(
    (a, b) => cmp(a.granularity, b.granularity) || a.bucket - b.bucket || cmp(a.metric, b.metric) || cmp(a.environment, b.environment),
  );
  await upsertAdd(db, 'usage_metric_totals', KEY, ['quantity'], [], sorted);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The WHERE clause (and its parameters) selecting the rows of `[first, end)` read at `granularity` or finer. */
function coverWhere(first: number, end: number, granularity: Granularity): { where: string; params: unknown[] } | null {
  const pieces = coverRange(first, end, granularity);
  if (pieces.length === 0) return null;
  return {
    where: `(${pieces.map(() => '(granularity = ? AND bucket >= ? AND bucket < ?)').join(' OR ')})`,
    params: pieces.flatMap((p) => [p.granularity, p.first, p.end]),
  };
}

/**
 * Usage of all consumers per metric and `granularity` bucket over the minutes `[first, end)`, read from
 * usage_metric_totals: whole buckets from their own rows, the partial buckets at the edges from finer
 * ones, summed into their bucket in SQL. One row per point of the answer, whatever the number of
 * consumers or keys, and at most `limit` of them (the caller treats `limit` rows as too many).
 */
export async function readMetricTotals(
  db: Db,
  first: number,
  end: number,
  granularity: Granularity,
  metric: string | undefined,
  limit: number,
): Promise<AggregateRow[]> {
  const cover = coverWhere(first, end, granularity);
  if (!cover) return [];
  const params = [...cover.params];
  let where = cover.where;
  if (metric !== undefined) {
    where += ' AND metric = ?';
    params.push(metric);
  }
  let bucket: string;
  if (granularity === 'month') {
    // Only the range's first and last month can be partial, each read from finer rows that lie inside it.
    bucket = `CASE WHEN bucket < ${nextBucketStart(first, 'month')} THEN ${bucketStart(first, 'month')} WHEN bucket >= ${bucketStart(end, 'month')} THEN ${bucketStart(end - 1, 'month')} ELSE bucket END`;
  } else {
    const size = { minute: 1, hour: 60, day: 1440 }[granularity];
    bucket = size === 1 ? 'bucket' : `(bucket - bucket % ${size})`;
  }
  const rows: { metric: string; b: unknown; q: unknown }[] = await db.query(
    `SELECT metric, ${bucket} AS b, SUM(quantity) AS q FROM usage_metric_totals WHERE ${where} GROUP BY metric, ${bucket} ORDER BY metric, b LIMIT ${limit}`,
    params,
  );
  return rows.map((r) => ({ metric: String(r.metric), bucket: toNumber(r.b), quantity: toNumber(r.q) }));
}

/** Usage of one metric by all consumers over the minutes `[first, end)`, per environment. */
export async function sumMetricTotals(db: Db, first: number, end: number, metric: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const cover = coverWhere(first, end, 'month');
  if (!cover) return out;
  const rows: { environment: string; q: unknown }[] = await db.query(
    `SELECT environment, SUM(quantity) AS q FROM usage_metric_totals WHERE ${cover.where} AND metric = ? GROUP BY environment`,
    [...cover.params, metric],
  );
  for (const r of rows) out.set(r.environment, toNumber(r.q));
  return out;
}
