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
    const consumers: { id: string; created_at: unknown }[] = await db.query(
      `SELECT id, created_at FROM consumers WHERE id IN (${marks})`,
      ids,
    );
    for (const c of consumers) createdAt.set(c.id, toDate(c.created_at));
    // The previous period of each one ends where it starts (periods never leave a gap).
    const prevs: { consumer_id: string; end: unknown; status: string; range_usage: string | null }[] = await db.query(
      `SELECT p.consumer_id, p.end, p.status, i.range_usage FROM billing_periods p
       LEFT JOIN invoices i ON i.period_id = p.id
       WHERE p.consumer_id IN (${marks}) AND p.end IN (${starts.map(() => '?').join(', ')})`,
      [...ids, ...starts],
    );
    for (const p of prevs) {
      previous.set(`${p.consumer_id}|${toDate(p.end).getTime()}`, {
        status: p.status,
        closing: p.range_usage ? (JSON.parse(p.range_usage) as ClosingUsage) : null,
      });
    }
  }

  const closeDay = closeAt ? Math.floor(closeAt.getTime() / MS_PER_DAY) : undefined;
  const tailFrom = closeDay === undefined ? undefined : (r: { fromDay: number; toDay: number }) => closingWindowStart(r, closeDay);
  const own: DayRange[] = [];
  const late: DayRange[] = [];
  const plan = periods.map((p) => {
    const priced = (p.planSnapshot?.prices ?? []).map((price) => price.metric);
    const range: DayRange = { consumerId: p.consumerId, ...daysOf(p, createdAt.get(p.consumerId)), metrics: priced };
    own.push(range);
    const closing = previous.get(`${p.consumerId}|${p.start.getTime()}`);
    let prevRange: DayRange | undefined;
    if (closing?.status === 'closed' && closing.closing && closing.closing.fromDay < dayOf(p.start)) {
      // The previous period recorded the metrics its plan priced; late usage of others stays unbilled.
      const recorded = closing.closing.usage;
      const metrics = priced.filter((m) => Object.prototype.hasOwnProperty.call(recorded, m));
      prevRange = { consumerId: p.consumerId, fromDay: closing.closing.fromDay, toDay: dayOf(p.start), metrics };
      late.push(prevRange);
    }
    return { p, range, recorded: closing?.closing?.usage, prevRange };
  });

  const ownSums = await sumLiveUsage(db, own, tailFrom);
  const lateSums = await sumLiveUsage(db, late);
  for (const { p, range, recorded, prevRange } of plan) {
    const carriedIn: Record<string, number> = {};
    if (prevRange && recorded) {
      const now = lateSums.get(rangeKey(prevRange))!.total;
      for (const metric of prevRange.metrics) {
        const arrived = now[metric] - recorded[metric];
        if (arrived > 0) carriedIn[metric] = arrived;
      }
    }
    const sums = ownSums.get(rangeKey(range))!;
    const usage: PeriodUsage = { ownRange: pick(sums.total, range.metrics), carriedIn };
    if (tailFrom) usage.closing = { fromDay: tailFrom(range), usage: pick(sums.tail, range.metrics) };
    out.set(p.id, usage);
  }
  return out;
}

function pick(values: Record<string, number>, keys: readonly string[]): Record<string, number> {
  return Object.fromEntries(keys.map((k) => [k, values[k]]));
}
