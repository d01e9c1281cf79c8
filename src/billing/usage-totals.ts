import type { DataSource, EntityManager } from 'typeorm';
import { toNumber, upsertAdd } from '../database/sql';

type Db = DataSource | EntityManager;

export const MINUTES_PER_DAY = 1440;
export const MS_PER_DAY = 86_400_000;
/** Consumers per aggregation query: keeps the IN list and the result of one query small. */
const CONSUMERS_PER_QUERY = 500;

/** A usage_rollups row as the usage flush writes it (extra columns such as key_id are ignored). */
export interface RollupRow {
  consumer_id: string;
  /** Minutes since the epoch. */
  bucket: number;
  metric: string;
  environment: string;
  quantity: number;
}

const DAILY_KEY = ['consumer_id', 'environment', 'metric', 'day'];

/**
 * Adds rollup rows to usage_daily_totals, which is what billing reads. The usage flush calls this with
 * the rows it upserts into usage_rollups, in the SAME transaction, so that a failed and retried flush
 * counts nothing twice. Rows are summed per day here first, so the extra upsert is small (a flush of
 * 5000 minute rows is a few hundred daily rows).
 */
export async function addUsageTotals(db: Db, rows: readonly RollupRow[]): Promise<void> {
  const totals = new Map<string, { consumer_id: string; environment: string; metric: string; day: number; quantity: number }>();
  for (const r of rows) {
    const quantity = toNumber(r.quantity);
    if (quantity === 0) continue;
    const day = Math.floor(toNumber(r.bucket) / MINUTES_PER_DAY);
    const key = `${r.consumer_id}\u0000${r.environment}\u0000${r.metric}\u0000${day}`;
    const total = totals.get(key);
    if (total) total.quantity += quantity;
    else totals.set(key, { consumer_id: r.consumer_id, environment: r.environment, metric: r.metric, day, quantity });
  }
  // Sorted by primary key, so that concurrent flushes lock rows in the same order.
  const sorted = [...totals.values()].sort(
    (a, b) => cmp(a.consumer_id, b.consumer_id) || cmp(a.environment, b.environment) || cmp(a.metric, b.metric) || a.day - b.day,
  );
  await upsertAdd(db, 'usage_daily_totals', DAILY_KEY, ['quantity'], [], sorted);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Days since the epoch `[fromDay, toDay)` of one consumer's usage, of the metrics asked about. */
export interface DayRange {
  consumerId: string;
  fromDay: number;
  toDay: number;
  metrics: readonly string[];
  /** Also sum `[lookbackFromDay, fromDay)`, the days just before the range (the previous period's last). */
  lookbackFromDay?: number;
}

export function rangeKey(r: Pick<DayRange, 'consumerId' | 'fromDay' | 'toDay'>): string {
  return `${r.consumerId}|${r.fromDay}|${r.toDay}`;
}

export interface RangeUsage {
  /** Per metric asked about (0 when unused), over the range. */
  total: Record<string, number>;
  /** The same over the range's days from `tailFrom(range)` on (equal to `total` without it). */
  tail: Record<string, number>;
  /** The same over `[lookbackFromDay, fromDay)` (zeros without one). */
  lookback: Record<string, number>;
}

/**
 * Live usage per metric for each range, keyed by `rangeKey`, with every metric asked about present.
 * Ranges that share their days (the periods of one month, mostly) are summed by one GROUP BY per page of
 * consumers rather than one query per consumer. Naming the metrics turns each (consumer, metric) into an
 * exact primary-key range over the days, so a query reads the range's rows and no others, however long
 * the consumer's history, and groups them in key order without sorting. The same pass also sums the
 * range's last days (`tailFrom`) and the days just before it (`lookbackFromDay`), which are adjacent, so
 * they add rows to each key range rather than more key ranges (each range costs the optimizer and InnoDB
 * a B-tree descent or two, as much as reading a month of a consumer's days). Test-environment usage is
 * never billed, so it is never read here.
 */
export async function sumLiveUsage(
  db: Db,
  ranges: readonly DayRange[],
  tailFrom?: (range: { fromDay: number; toDay: number }) => number,
): Promise<Map<string, RangeUsage>> {
  const out = new Map<string, RangeUsage>();
  const groups = new Map<string, DayRange[]>();
  for (const r of ranges) {
    // The same range may be asked about twice (a list with a period and the period before it).
    const usage = out.get(rangeKey(r)) ?? { total: {}, tail: {}, lookback: {} };
    for (const m of r.metrics) usage.total[m] = usage.tail[m] = usage.lookback[m] = 0;
    out.set(rangeKey(r), usage);
    if (r.metrics.length === 0) continue;
    const k = `${r.fromDay}|${r.toDay}|${r.lookbackFromDay ?? r.fromDay}`;
    const group = groups.get(k);
    if (group) group.push(r);
    else groups.set(k, [r]);
  }
  for (const group of groups.values()) {
    const { fromDay, toDay } = group[0];
    const lookbackFromDay = Math.min(group[0].lookbackFromDay ?? fromDay, fromDay);
    const tailFromDay = tailFrom ? tailFrom({ fromDay, toDay }) : fromDay;
    for (let i = 0; i < group.length; i += CONSUMERS_PER_QUERY) {
      const page = group.slice(i, i + CONSUMERS_PER_QUERY);
      const ids = [...new Set(page.map((r) => r.consumerId))];
      const metrics = [...new Set(page.flatMap((r) => r.metrics))];
      const rows: { consumer_id: string; metric: string; total: unknown; tail: unknown; lookback: unknown }[] = await db.query(
        `SELECT consumer_id, metric,
                SUM(CASE WHEN day >= ? THEN quantity ELSE 0 END) AS total,
                SUM(CASE WHEN day >= ? THEN quantity ELSE 0 END) AS tail,
                SUM(CASE WHEN day < ? THEN quantity ELSE 0 END) AS lookback
         FROM usage_daily_totals
         WHERE consumer_id IN (${ids.map(() => '?').join(', ')}) AND environment = 'live'
         AND metric IN (${metrics.map(() => '?').join(', ')}) AND day >= ? AND day < ?
         GROUP BY consumer_id, metric`,
        [fromDay, tailFromDay, fromDay, ...ids, ...metrics, lookbackFromDay, toDay],
      );
      for (const row of rows) {
        const usage = out.get(rangeKey({ consumerId: row.consumer_id, fromDay, toDay }))!;
        if (!Object.prototype.hasOwnProperty.call(usage.total, row.metric)) continue;
        usage.total[row.metric] = toNumber(row.total);
        usage.tail[row.metric] = toNumber(row.tail);
        usage.lookback[row.metric] = toNumber(row.lookback);
      }
    }
  }
  return out;
}

/** A period boundary as a day number; periods start and end at midnight UTC (see periods.ts). */
export function dayOf(date: Date): number {
  const day = date.getTime() / MS_PER_DAY;
  if (!Number.isInteger(day)) throw new Error(`period boundary ${date.toISOString()} is not at midnight UTC`);
  return day;
}
