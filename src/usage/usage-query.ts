import { AppException, type FieldError } from '../common/app.exception';
import { parseTimestamp } from './usage-event';

export type Granularity = 'minute' | 'hour' | 'day' | 'month';
export type GroupBy = 'metric' | 'key' | 'consumer';

export const GRANULARITIES: Granularity[] = ['minute', 'hour', 'day', 'month'];
/** Points in one answer, over all series. */
export const MAX_POINTS = 10_000;
/**
 * Stored rows one answer may read from usage_rollups (or, to find the consumers a read across consumers
 * covers, from usage_daily_totals): aggregating this many from a key range takes about 100 ms on SQLite
 * and MariaDB, a few times that on a loaded machine, which keeps such a read under a second however wide
 * its range. Usage of all consumers by metric does not count here: it is read from usage_metric_totals,
 * a few rows per bucket whatever the number of consumers.
 */
export const MAX_ROWS_READ = 100_000;
/**
 * Consumers a read across consumers grouped by consumer or key may cover: their rollups are read one
 * key range per consumer (the rollups are keyed by consumer first and have no index by time).
 */
export const MAX_CONSUMERS_READ = 1000;

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Minutes per bucket aggregated in SQL; months are folded from days in code (they differ in length). */
export const SQL_BUCKET_MINUTES: Record<Granularity, number> = { minute: 1, hour: 60, day: 1440, month: 1440 };

/** The widest range each granularity answers, and how it reads in an error message. */
const RANGE_LIMITS: Record<Granularity, { fits: (from: number, to: number) => boolean; text: string }> = {
  minute: { fits: (f, t) => t - f <= DAY, text: '24 hours' },
  hour: { fits: (f, t) => t - f <= 31 * DAY, text: '31 days' },
  day: { fits: (f, t) => t - f <= 366 * DAY, text: '366 days' },
  month: {
    fits: (f, t) => {
      const d = new Date(f);
      return t <= Date.UTC(d.getUTCFullYear() + 10, d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
    },
    text: '10 years',
  },
};

/** Problems with a [from, to) range for a granularity, as field errors (empty when fine). */
export function rangeProblems(from: number, to: number, granularity: Granularity): FieldError[] {
  if (!(to > from)) return [{ field: 'to', message: 'must be after from' }];
  const limit = RANGE_LIMITS[granularity];
  if (!limit.fits(from, to)) {
    return [{ field: 'to', message: `${granularity} granularity answers at most ${limit.text} at a time; narrow the range or use a coarser granularity` }];
  }
  return [];
}

/**
 * Rollups are kept per minute, so a range selects the minutes that start inside [from, to):
 * exact when from and to fall on whole minutes.
 */
/** The `[from, to)` of a usage read as epoch milliseconds, or a 400 VALIDATION_FAILED naming each problem. */
export function parseRange(fromText: string, toText: string, granularity: Granularity): { from: number; to: number } {
  const from = parseTimestamp(fromText);
  const to = parseTimestamp(toText);
  const problems: FieldError[] = [];
  if (Number.isNaN(from)) problems.push({ field: 'from', message: 'is not a valid date' });
  if (Number.isNaN(to)) problems.push({ field: 'to', message: 'is not a valid date' });
  if (!problems.length) problems.push(...rangeProblems(from, to, granularity));
  if (problems.length) throw AppException.validation(problems, problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  return { from, to };
}

export function minuteRange(from: number, to: number): { first: number; end: number } {
  return { first: Math.ceil(from / MINUTE), end: Math.ceil(to / MINUTE) };
}

/** Start (ms) of the UTC month containing `ms`. */
export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export interface AggregateRow {
  metric: string;
  keyId?: string;
  consumerId?: string;
  /** Bucket start in whole minutes since the epoch (a multiple of the SQL bucket size). */
  bucket: number;
  quantity: number;
}

export interface UsagePoint {
  start: string;
  quantity: number;
}

export interface UsageSeries {
  metric: string;
  keyId?: string;
  consumerId?: string;
  points: UsagePoint[];
}

export interface UsageReport {
  granularity: Granularity;
  series: UsageSeries[];
  totals: { metric: string; quantity: number }[];
}

/**
 * Builds series (one per metric, or per metric and key/consumer) from aggregated rows, folding day
 * buckets into UTC months when asked. Buckets without usage are not listed. Returns null when the
 * answer would exceed `maxPoints`.
 */
export function buildReport(rows: AggregateRow[], granularity: Granularity, maxPoints = MAX_POINTS, metricFilter?: string): UsageReport | null {
  const series = new Map<string, { s: Omit<UsageSeries, 'points'>; points: Map<number, number> }>();
  const totals = new Map<string, number>();
  let points = 0;
  for (const r of rows) {
    const id = `${r.metric}\u0000${r.keyId ?? ''}\u0000${r.consumerId ?? ''}`;
    let entry = series.get(id);
    if (!entry) {
      const s: Omit<UsageSeries, 'points'> = { metric: r.metric };
      if (r.consumerId !== undefined) s.consumerId = r.consumerId;
      if (r.keyId !== undefined) s.keyId = r.keyId;
      series.set(id, (entry = { s, points: new Map() }));
    }
    const startMs = granularity === 'month' ? monthStart(r.bucket * MINUTE) : r.bucket * MINUTE;
    const before = entry.points.get(startMs);
    if (before === undefined && ++points > maxPoints) return null;
    entry.points.set(startMs, (before ?? 0) + r.quantity);
    totals.set(r.metric, (totals.get(r.metric) ?? 0) + r.quantity);
  }
  const out = [...series.values()]
    .map(({ s, points: p }) => ({
      ...s,
      points: [...p.entries()].sort((a, b) => a[0] - b[0]).map(([start, quantity]) => ({ start: new Date(start).toISOString(), quantity })),
    }))
    .sort((a, b) => cmp(a.metric, b.metric) || cmp(a.consumerId ?? '', b.consumerId ?? '') || cmp(a.keyId ?? '', b.keyId ?? ''));
  if (metricFilter && !totals.has(metricFilter)) totals.set(metricFilter, 0);
  return {
    granularity,
    series: out,
    totals: [...totals.entries()].sort((a, b) => cmp(a[0], b[0])).map(([metric, quantity]) => ({ metric, quantity })),
  };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
