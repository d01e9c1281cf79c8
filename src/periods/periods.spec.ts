import fc from 'fast-check';
import { firstPeriod, monthKey, monthRange, nextPeriod, periodContaining, periodFor } from './periods';

const d = (iso: string) => new Date(iso);
const iso = (p: { start: Date; end: Date }) => [p.start.toISOString(), p.end.toISOString()];

describe('periodContaining', () => {
  it.each([
    // [anchorDay, at, start, end]
    [1, '2025-03-15T12:00:00.000Z', '2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z'],
    [1, '2025-03-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z'], // on the boundary: new period
    [1, '2025-02-28T23:59:59.999Z', '2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z'],
    [15, '2025-03-15T00:00:00.000Z', '2025-03-15T00:00:00.000Z', '2025-04-15T00:00:00.000Z'],
    [15, '2025-03-14T23:59:59.999Z', '2025-02-15T00:00:00.000Z', '2025-03-15T00:00:00.000Z'],
    [28, '2025-02-28T00:00:00.000Z', '2025-02-28T00:00:00.000Z', '2025-03-28T00:00:00.000Z'], // anchor 28 in February
    [28, '2025-02-27T23:59:59.999Z', '2025-01-28T00:00:00.000Z', '2025-02-28T00:00:00.000Z'],
    [28, '2025-03-01T00:00:00.000Z', '2025-02-28T00:00:00.000Z', '2025-03-28T00:00:00.000Z'],
    [28, '2024-02-29T12:00:00.000Z', '2024-02-28T00:00:00.000Z', '2024-03-28T00:00:00.000Z'], // leap day
    [1, '2024-02-29T23:59:59.999Z', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    [10, '2025-01-05T00:00:00.000Z', '2024-12-10T00:00:00.000Z', '2025-01-10T00:00:00.000Z'], // across the year
    [10, '2024-12-31T23:59:59.999Z', '2024-12-10T00:00:00.000Z', '2025-01-10T00:00:00.000Z'],
    [1, '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
    [1, '2024-12-31T23:59:59.999Z', '2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
    [28, '0099-01-30T00:00:00.000Z', '0099-01-28T00:00:00.000Z', '0099-02-28T00:00:00.000Z'], // no 19xx mapping
  ])('anchor %i at %s', (anchorDay, at, start, end) => {
    expect(iso(periodContaining(anchorDay, d(at)))).toEqual([start, end]);
  });

  it.each([0, 29, 31, 1.5, Number.NaN])('refuses anchor day %p', (anchorDay) => {
    expect(() => periodContaining(anchorDay, d('2025-01-01T00:00:00.000Z'))).toThrow(RangeError);
  });

  it('refuses an invalid date', () => {
    expect(() => periodContaining(1, new Date('nope'))).toThrow(RangeError);
  });
});

describe('firstPeriod and periodFor', () => {
  it.each([
    // [anchorDay, createdAt, end of the first period]
    [1, '2025-03-15T10:20:30.400Z', '2025-04-01T00:00:00.000Z'],
    [1, '2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z'], // created on the boundary: a full month
    [1, '2025-03-01T00:00:00.001Z', '2025-04-01T00:00:00.000Z'],
    [1, '2025-02-28T23:59:59.999Z', '2025-03-01T00:00:00.000Z'], // one millisecond long
    [20, '2025-03-15T10:00:00.000Z', '2025-03-20T00:00:00.000Z'],
    [20, '2025-03-20T00:00:00.000Z', '2025-04-20T00:00:00.000Z'],
    [28, '2025-02-28T00:00:00.000Z', '2025-03-28T00:00:00.000Z'],
    [28, '2024-02-29T08:00:00.000Z', '2024-03-28T00:00:00.000Z'],
    [5, '2024-12-31T18:00:00.000Z', '2025-01-05T00:00:00.000Z'],
  ])('anchor %i, created %s → ends %s', (anchorDay, createdAt, end) => {
    expect(iso(firstPeriod(anchorDay, d(createdAt)))).toEqual([createdAt, end]);
  });

  it('returns copies, not the caller’s Date', () => {
    const createdAt = d('2025-03-15T10:00:00.000Z');
    const first = firstPeriod(1, createdAt);
    expect(first.start).not.toBe(createdAt);
    first.start.setUTCFullYear(2000);
    expect(createdAt.toISOString()).toBe('2025-03-15T10:00:00.000Z');
  });

  const createdAt = d('2025-03-15T10:00:00.000Z');
  it.each([
    // [at, start, end] for a consumer with anchor 1 created 2025-03-15T10:00Z
    ['2025-03-15T10:00:00.000Z', '2025-03-15T10:00:00.000Z', '2025-04-01T00:00:00.000Z'],
    ['2025-03-31T23:59:59.999Z', '2025-03-15T10:00:00.000Z', '2025-04-01T00:00:00.000Z'],
    ['2025-03-01T00:00:00.000Z', '2025-03-15T10:00:00.000Z', '2025-04-01T00:00:00.000Z'], // before creation: first period
    ['2020-01-01T00:00:00.000Z', '2025-03-15T10:00:00.000Z', '2025-04-01T00:00:00.000Z'],
    ['2025-04-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z', '2025-05-01T00:00:00.000Z'], // boundary: next period
    ['2026-01-20T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
  ])('periodFor at %s', (at, start, end) => {
    expect(iso(periodFor(1, createdAt, d(at)))).toEqual([start, end]);
  });
});

describe('nextPeriod', () => {
  it.each([
    // [anchorDay, start, end, next start, next end]
    [1, '2025-03-15T10:00:00.000Z', '2025-04-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z', '2025-05-01T00:00:00.000Z'],
    [28, '2025-01-28T00:00:00.000Z', '2025-02-28T00:00:00.000Z', '2025-02-28T00:00:00.000Z', '2025-03-28T00:00:00.000Z'],
    [1, '2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z'],
    // the anchor changed from 1 to 15: the next period still starts where the last ended
    [15, '2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z', '2025-04-15T00:00:00.000Z'],
  ])('anchor %i after [%s, %s)', (anchorDay, start, end, nextStart, nextEnd) => {
    expect(iso(nextPeriod(anchorDay, { start: d(start), end: d(end) }))).toEqual([nextStart, nextEnd]);
  });
});

describe('monthKey and monthRange', () => {
  it.each([
    ['2025-03-15T10:00:00.000Z', '2025-03'],
    ['2025-12-31T23:59:59.999Z', '2025-12'],
    ['2026-01-01T00:00:00.000Z', '2026-01'],
    ['2024-02-29T00:00:00.000Z', '2024-02'],
  ])('monthKey(%s) = %s', (at, key) => {
    expect(monthKey(d(at))).toBe(key);
  });

  it.each([
    ['2025-03', '2025-03-01T00:00:00.000Z', '2025-04-01T00:00:00.000Z'],
    ['2025-12', '2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['2024-02', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['0050-01', '0050-01-01T00:00:00.000Z', '0050-02-01T00:00:00.000Z'],
  ])('monthRange(%s)', (key, start, end) => {
    expect(iso(monthRange(key))).toEqual([start, end]);
  });

  it.each(['2025-3', '2025-13', '2025-00', '25-03', '2025/03', '2025-03-01', ' 2025-03', '', 'abcd-ef'])(
    'monthRange refuses %p',
    (key) => {
      expect(() => monthRange(key)).toThrow(RangeError);
    },
  );

  it('monthRange refuses a non-string', () => {
    expect(() => monthRange(undefined as unknown as string)).toThrow(RangeError);
  });
});

describe('period properties', () => {
  const anchorArb = fc.integer({ min: 1, max: 28 });
  const dateArb = fc.date({ min: d('1970-01-01T00:00:00.000Z'), max: d('2200-12-31T23:59:59.999Z'), noInvalidDate: true });

  it('the period containing `at` holds it, starts on the anchor at midnight and lasts one calendar month', () => {
    fc.assert(
      fc.property(anchorArb, dateArb, (anchorDay, at) => {
        const { start, end } = periodContaining(anchorDay, at);
        expect(start.getTime()).toBeLessThanOrEqual(at.getTime());
        expect(at.getTime()).toBeLessThan(end.getTime());
        for (const boundary of [start, end]) {
          expect(boundary.getUTCDate()).toBe(anchorDay);
          expect(boundary.toISOString().slice(10)).toBe('T00:00:00.000Z');
        }
        const months = end.getUTCFullYear() * 12 + end.getUTCMonth() - (start.getUTCFullYear() * 12 + start.getUTCMonth());
        expect(months).toBe(1);
      }),
    );
  });

  it('periods follow each other without gap or overlap, and every instant after creation has one', () => {
    fc.assert(
      fc.property(anchorArb, dateArb, fc.integer({ min: 0, max: 3 * 365 * 86_400_000 }), (anchorDay, createdAt, offset) => {
        const at = new Date(createdAt.getTime() + offset);
        const first = firstPeriod(anchorDay, createdAt);
        const found = periodFor(anchorDay, createdAt, at);
        let period = first;
        while (period.end <= at) period = nextPeriod(anchorDay, period);
        expect(iso(found)).toEqual(iso(period));
        expect(found.start.getTime()).toBeLessThanOrEqual(at.getTime());
        expect(at.getTime()).toBeLessThan(found.end.getTime());
      }),
    );
  });

  it('monthRange(monthKey(date)) contains the date', () => {
    fc.assert(
      fc.property(dateArb, (date) => {
        const { start, end } = monthRange(monthKey(date));
        expect(start.getTime()).toBeLessThanOrEqual(date.getTime());
        expect(date.getTime()).toBeLessThan(end.getTime());
      }),
    );
  });
});
