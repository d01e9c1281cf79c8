import type { DataSource, EntityManager } from 'typeorm';
import { sqlTime, toDate } from '../database/sql';
import type { PlanSnapshot } from '../plans/plan-snapshot';
import type { ClosingUsage, PeriodUsage } from './billing.types';
import { DayRange, dayOf, MS_PER_DAY, rangeKey, sumLiveUsage } from './usage-totals';

type Db = DataSource | EntityManager;

const CONSUMERS_PER_QUERY = 500;

/**
 * How many days of a period, before its close (or its end, if it closed after its end), are watched for
 * late request counts. Counts are bucketed when they happen and normally reach the database within
 * seconds; what arrives after a close was counted shortly before it (a flush racing the close, an
 * instance cut off from the database for a while) or after it (a period closed by hand before its end).
 * Watching only this closing window lets the next close read these few days instead of the whole
 * previous period again.
 */
export const LATE_USAGE_DAYS = 3;

/** First day of a period's closing window: LATE_USAGE_DAYS before its close or its end, whichever is first. */
export function closingWindowStart(range: { fromDay: number; toDay: number }, closeDay: number): number {
  return Math.max(range.fromDay, Math.min(closeDay, range.toDay) - LATE_USAGE_DAYS);
}

export interface PeriodRef {
  id: string;
  consumerId: string;
  start: Date;
  end: Date;
  planSnapshot: PlanSnapshot | null;
}

interface Previous {
  status: string;
  closing: ClosingUsage | null;
}

/**
 * A period's own usage range in days. The first period starts when the consumer was created, but an
 * event dated before that (back-dated reporting) still belongs to it (see `periodFor`), so the first
 * period's range has no lower bound.
 */
function daysOf(p: { start: Date; end: Date }, createdAt: Date | undefined): { fromDay: number; toDay: number } {
  const first = createdAt !== undefined && p.start.getTime() === createdAt.getTime();
  return { fromDay: first ? 0 : dayOf(p.start), toDay: dayOf(p.end) };
}

/**
 * Usage of each period, for the metrics its plan prices (usage of other metrics is metered, never
 * billed): live usage inside its own range, plus what was metered for the previous period after that
 * period closed, which request counts can do and cannot be refused for, so it is carried into the next
 * period: carry = max(0, usage of the previous period's closing window now − the same at its close), for
 * the metrics both periods price. With `closeAt`, also measures this period's own closing window (see
 * `closingWindowStart`) for the next period to compare against. Everything for many periods is read with
 * a few queries per page of consumers.
 */
export async function measurePeriods(db: Db, periods: readonly PeriodRef[], closeAt?: Date): Promise<Map<string, PeriodUsage>> {
  const out = new Map<string, PeriodUsage>();
  if (periods.length === 0) return out;
  const consumerIds = [...new Set(periods.map((p) => p.consumerId))];
  const createdAt = new Map<string, Date>();
  const previous = new Map<string, Previous>();

  for (let i = 0; i < consumerIds.length; i += CONSUMERS_PER_QUERY) {
    const ids = consumerIds.slice(i, i + CONSUMERS_PER_QUERY);
    const inPage = new Set(ids);
    const starts = [...new Set(periods.filter((p) => inPage.has(p.consumerId)).map((p) => sqlTime(p.start)))];
    const marks = ids.map(() => '?').join(', ');
    // Each consumer's creation, and the period before each one asked about: it ends where that one starts.
    const rows: { id: string; created_at: unknown; end: unknown; status: string | null; range_usage: string | null }[] = await db.query(
      `SELECT c.id, c.created_at, p.end, p.status, i.range_usage FROM consumers c
       LEFT JOIN billing_periods p ON p.consumer_id = c.id AND p.end IN (${starts.map(() => '?').join(', ')})
       LEFT JOIN invoices i ON i.period_id = p.id
       WHERE c.id IN (${marks})`,
      [...starts, ...ids],
    );
    for (const r of rows) {
      createdAt.set(r.id, toDate(r.created_at));
      if (r.status === null) continue;
      previous.set(`${r.id}|${toDate(r.end).getTime()}`, {
        status: r.status,
        closing: r.range_usage ? (JSON.parse(r.range_usage) as ClosingUsage) : null,
      });
    }
  }

  const closeDay = closeAt ? Math.floor(closeAt.getTime() / MS_PER_DAY) : undefined;
  const tailFrom = closeDay === undefined ? undefined : (r: { fromDay: number; toDay: number }) => closingWindowStart(r, closeDay);
  const ranges = periods.map((p) => {
    const priced = (p.planSnapshot?.prices ?? []).map((price) => price.metric);
    const range: DayRange = { consumerId: p.consumerId, ...daysOf(p, createdAt.get(p.consumerId)), metrics: priced };
    const prev = previous.get(`${p.consumerId}|${p.start.getTime()}`);
    // The previous period's closing window ends where this range starts: one read covers both.
    const recorded = prev?.status === 'closed' && prev.closing && prev.closing.fromDay < range.fromDay ? prev.closing : undefined;
    if (recorded) range.lookbackFromDay = recorded.fromDay;
    return { p, range, recorded };
  });

  const sums = await sumLiveUsage(
    db,
    ranges.map((r) => r.range),
    tailFrom,
  );
  for (const { p, range, recorded } of ranges) {
    const measured = sums.get(rangeKey(range))!;
    const carriedIn: Record<string, number> = {};
    // The previous period recorded the metrics its plan priced; late usage of others stays unbilled.
    for (const metric of recorded ? range.metrics : []) {
      if (!Object.prototype.hasOwnProperty.call(recorded!.usage, metric)) continue;
      const arrived = measured.lookback[metric] - recorded!.usage[metric];
      if (arrived > 0) carriedIn[metric] = arrived;
    }
    const usage: PeriodUsage = { ownRange: pick(measured.total, range.metrics), carriedIn };
    if (tailFrom) usage.closing = { fromDay: tailFrom(range), usage: pick(measured.tail, range.metrics) };
    out.set(p.id, usage);
  }
  return out;
}

function pick(values: Record<string, number>, keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, values[k]]));
}
