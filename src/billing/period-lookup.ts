import type { DataSource, EntityManager } from 'typeorm';
import { isMysql, sqlTime, toDate } from '../database/sql';

/**
 * For each timestamp, whether the consumer's billing period it falls in is closed: reported usage
 * events dated there are refused with PERIOD_CLOSED. A timestamp before the first period (a back-dated
 * event) belongs to the first period, as in `periodFor`; one after the last opened period is in a period
 * not opened yet, which is open. One query for any number of timestamps.
 */
export async function closedPeriodsAt(db: DataSource | EntityManager, consumerId: string, timestamps: readonly Date[]): Promise<boolean[]> {
  if (timestamps.length === 0) return [];
  const earliest = new Date(Math.min(...timestamps.map((t) => t.getTime())));
  const end = isMysql(db) ? '`end`' : '"end"';
  // Periods are contiguous, so those ending after the earliest timestamp cover every timestamp asked about.
  const rows: { end: unknown; status: string }[] = await db.query(
    `SELECT ${end} AS ${end}, status FROM billing_periods WHERE consumer_id = ? AND ${end} > ? ORDER BY start`,
    [consumerId, sqlTime(earliest)],
  );
  const periods = rows.map((r) => ({ end: toDate(r.end).getTime(), closed: r.status === 'closed' }));
  return timestamps.map((t) => periods.find((p) => t.getTime() < p.end)?.closed ?? false);
}
