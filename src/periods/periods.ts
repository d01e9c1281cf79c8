/**
 * Shared by billing (periods, invoices, exports) and quotas (which count per billing period).
 *
 * Billing periods: `[start, end)` in UTC, monthly from the consumer's anchor day (1–28, so that every
 * month has the day) at 00:00:00.000 UTC. A consumer's first period starts when it is created and ends
 * at the next anchor boundary. Pure functions; every Date returned is a new object.
 */

export interface Period {
  start: Date;
  end: Date;
}

const MONTH_KEY = /^(\d{4})-(0[1-9]|1[0-2])$/;

function assertAnchorDay(anchorDay: number): void {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 28) {
    throw new RangeError(`anchorDay must be an integer from 1 to 28, got ${anchorDay}`);
  }
}

function assertDate(date: Date, what: string): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new RangeError(`${what} must be a valid Date`);
}

/** Midnight UTC; months outside 0–11 roll over into the neighbouring years, as Date.UTC does. */
function utcMidnight(year: number, month: number, day: number): Date {
  const date = new Date(0);
  // setUTCFullYear, because Date.UTC maps years 0–99 to 1900–1999.
  date.setUTCFullYear(year, month, day);
  return date;
}

/** The anchor-aligned monthly period that contains `at`; `at` on a boundary starts the new period. */
export function periodContaining(anchorDay: number, at: Date): Period {
  assertAnchorDay(anchorDay);
  assertDate(at, 'at');
  const year = at.getUTCFullYear();
  let month = at.getUTCMonth();
  if (at < utcMidnight(year, month, anchorDay)) month -= 1;
  return { start: utcMidnight(year, month, anchorDay), end: utcMidnight(year, month + 1, anchorDay) };
}

/**
 * From creation to the next anchor boundary strictly after it: shorter than a month unless the consumer
 * was created exactly on a boundary.
 */
export function firstPeriod(anchorDay: number, createdAt: Date): Period {
  assertDate(createdAt, 'createdAt');
  return { start: new Date(createdAt.getTime()), end: periodContaining(anchorDay, createdAt).end };
}

/**
 * The period that `at` falls in for a consumer created at `createdAt`. Any `at` before the first period's
 * end, even one before creation (a back-dated event), belongs to the first period.
 */
export function periodFor(anchorDay: number, createdAt: Date, at: Date): Period {
  const first = firstPeriod(anchorDay, createdAt);
  assertDate(at, 'at');
  return at < first.end ? first : periodContaining(anchorDay, at);
}

/**
 * The period that follows `period`. It starts at `period.end` even when that is not on the anchor (the
 * anchor day was changed), so that periods never overlap or leave a gap, and ends at the next boundary.
 */
export function nextPeriod(anchorDay: number, period: Period): Period {
  assertDate(period.end, 'period.end');
  return { start: new Date(period.end.getTime()), end: periodContaining(anchorDay, period.end).end };
}

/** `YYYY-MM` of the UTC calendar month of `date`. */
export function monthKey(date: Date): string {
  assertDate(date, 'date');
  const year = String(date.getUTCFullYear()).padStart(4, '0');
  const month = String(date.getUTCMonth() + 1).padStart(2, '0');
  return `${year}-${month}`;
}

/** The UTC calendar month `YYYY-MM` as `[start, end)`; throws RangeError on anything else. */
export function monthRange(month: string): Period {
  const match = typeof month === 'string' ? MONTH_KEY.exec(month) : null;
  if (!match) throw new RangeError(`month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const year = Number(match[1]);
  const index = Number(match[2]) - 1;
  return { start: utcMidnight(year, index, 1), end: utcMidnight(year, index + 1, 1) };
}
