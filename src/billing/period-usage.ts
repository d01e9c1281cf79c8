import type { DataSource, EntityManager } from 'typeorm';
import { sqlTime, toDate } from '../database/sql';
import type { PeriodUsage } from './billing.types';
import { DayRange, dayOf, rangeKey, sumLiveUsage } from './usage-totals';

type Db = DataSource | EntityManager;

const CONSUMERS_PER_QUERY = 500;

export interface PeriodRef {
  id: string;
  consumerId: string;
  start: Date;
  end: Date;
}

interface Previous {
  start: Date;
  end: Date;
  status: string;
  rangeUsage: Record<string, number> | null;
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
 * Usage of each period: live usage inside its own range, plus what was metered in the previous period's
 * range after that period closed (request counts cannot be refused after the fact, so they are carried
 * into the next period): carry = max(0, usage in the previous range now − usage it recorded at close).
 * Everything for many periods is read with a few queries per page of consumers.
 */
export async function measurePeriods(db: Db, periods: readonly PeriodRef[]): Promise<Map<string, PeriodUsage>> {
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
    const prevs: { consumer_id: string; start: unknown; end: unknown; status: string; range_usage: string | null }[] = await db.query(
      `SELECT p.consumer_id, p.start, p.end, p.status, i.range_usage FROM billing_periods p
       LEFT JOIN invoices i ON i.period_id = p.id
       WHERE p.consumer_id IN (${marks}) AND p.end IN (${starts.map(() => '?').join(', ')})`,
      [...ids, ...starts],
    );
    for (const p of prevs) {
      const end = toDate(p.end);
      previous.set(`${p.consumer_id}|${end.getTime()}`, {
        start: toDate(p.start),
        end,
        status: p.status,
        rangeUsage: p.range_usage ? (JSON.parse(p.range_usage) as Record<string, number>) : null,
      });
    }
  }

  const ranges: DayRange[] = [];
  const plan = periods.map((p) => {
    const created = createdAt.get(p.consumerId);
    const own: DayRange = { consumerId: p.consumerId, ...daysOf(p, created) };
    ranges.push(own);
    const prev = previous.get(`${p.consumerId}|${p.start.getTime()}`);
    let prevRange: DayRange | undefined;
    if (prev && prev.status === 'closed' && prev.rangeUsage) {
      prevRange = { consumerId: p.consumerId, ...daysOf(prev, created) };
      ranges.push(prevRange);
    }
    return { p, own, prev, prevRange };
  });

  const sums = await sumLiveUsage(db, ranges);
  for (const { p, own, prev, prevRange } of plan) {
    const carriedIn: Record<string, number> = {};
    if (prevRange && prev?.rangeUsage) {
      for (const [metric, now] of Object.entries(sums.get(rangeKey(prevRange))!)) {
        const late = now - (prev.rangeUsage[metric] ?? 0);
        if (late > 0) carriedIn[metric] = late;
      }
    }
    out.set(p.id, { ownRange: sums.get(rangeKey(own))!, carriedIn });
  }
  return out;
}
