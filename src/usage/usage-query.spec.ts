import fc from 'fast-check';
import { AggregateRow, buildReport, Granularity, minuteRange, monthStart, rangeProblems } from './usage-query';

const t = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('rangeProblems', () => {
  it.each<[Granularity, number, boolean]>([
    ['minute', DAY, true],
    ['minute', DAY + 1, false],
    ['hour', 31 * DAY, true],
    ['hour', 31 * DAY + 1, false],
    ['day', 366 * DAY, true],
    ['day', 366 * DAY + 1, false],
  ])('%s over %i ms fits: %p', (g, span, fits) => {
    const from = t('2026-01-01T00:00:00.000Z');
    expect(rangeProblems(from, from + span, g).length === 0).toBe(fits);
  });

  it('allows ten calendar years of months, not more', () => {
    const from = t('2020-03-15T00:00:00.000Z');
    expect(rangeProblems(from, t('2030-03-15T00:00:00.000Z'), 'month')).toEqual([]);
    expect(rangeProblems(from, t('2030-03-15T00:00:00.001Z'), 'month')[0].message).toMatch(/10 years/);
  });

  it('wants to after from', () => {
    const from = t('2026-01-01T00:00:00.000Z');
    expect(rangeProblems(from, from, 'day')).toEqual([{ field: 'to', message: 'must be after from' }]);
    expect(rangeProblems(from, from - 1, 'day')).toHaveLength(1);
  });

  it('says how to fix a too wide range', () => {
    const [p] = rangeProblems(0, 2 * DAY, 'minute');
    expect(p).toEqual({ field: 'to', message: expect.stringMatching(/minute granularity answers at most 24 hours.*coarser granularity/) });
  });
});

describe('minuteRange', () => {
  it('selects the minutes that start inside [from, to)', () => {
    expect(minuteRange(t('1970-01-01T00:01:00.000Z'), t('1970-01-01T00:03:00.000Z'))).toEqual({ first: 1, end: 3 });
    expect(minuteRange(t('1970-01-01T00:01:00.001Z'), t('1970-01-01T00:03:00.001Z'))).toEqual({ first: 2, end: 4 });
  });
});

describe('monthStart', () => {
  it.each([
    ['2026-01-31T23:59:59.999Z', '2026-01-01T00:00:00.000Z'],
    ['2024-02-29T12:00:00.000Z', '2024-02-01T00:00:00.000Z'],
    ['2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
  ])('%s is in the month starting %s', (at, start) => {
    expect(new Date(monthStart(t(at))).toISOString()).toBe(start);
  });
});

describe('buildReport', () => {
  const day = (iso: string) => t(iso) / 60_000;

  it('folds day buckets into UTC months, one series per metric, sorted', () => {
    const rows: AggregateRow[] = [
      { metric: 'tokens', bucket: day('2026-01-30T00:00:00.000Z'), quantity: 5 },
      { metric: 'requests', bucket: day('2026-01-31T00:00:00.000Z'), quantity: 2 },
      { metric: 'requests', bucket: day('2026-01-01T00:00:00.000Z'), quantity: 1 },
      { metric: 'requests', bucket: day('2026-02-01T00:00:00.000Z'), quantity: 4 },
    ];
    expect(buildReport(rows, 'month')).toEqual({
      granularity: 'month',
      series: [
        {
          metric: 'requests',
          points: [
            { start: '2026-01-01T00:00:00.000Z', quantity: 3 },
            { start: '2026-02-01T00:00:00.000Z', quantity: 4 },
          ],
        },
        { metric: 'tokens', points: [{ start: '2026-01-01T00:00:00.000Z', quantity: 5 }] },
      ],
      totals: [
        { metric: 'requests', quantity: 7 },
        { metric: 'tokens', quantity: 5 },
      ],
    });
  });

  it('keeps key and consumer on their series', () => {
    const r = buildReport(
      [
        { metric: 'requests', keyId: 'key_b', consumerId: 'c1', bucket: 60, quantity: 1 },
        { metric: 'requests', keyId: 'key_a', consumerId: 'c1', bucket: 60, quantity: 2 },
      ],
      'hour',
    )!;
    expect(r.series.map((s) => [s.keyId, s.consumerId, s.points[0].start])).toEqual([
      ['key_a', 'c1', '1970-01-01T01:00:00.000Z'],
      ['key_b', 'c1', '1970-01-01T01:00:00.000Z'],
    ]);
    expect(r.totals).toEqual([{ metric: 'requests', quantity: 3 }]);
  });

  it('reports a zero total for a filtered metric without usage', () => {
    expect(buildReport([], 'day', 10, 'sms')!.totals).toEqual([{ metric: 'sms', quantity: 0 }]);
  });

  it('gives up past the point limit', () => {
    const rows = [1, 2, 3].map((b) => ({ metric: 'requests', bucket: b, quantity: 1 }));
    expect(buildReport(rows, 'minute', 3)).not.toBeNull();
    expect(buildReport(rows, 'minute', 2)).toBeNull();
  });

  it('totals equal the sum of the rows, and each series sums to its metric total, for every granularity', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ metric: fc.constantFrom('requests', 'tokens'), keyId: fc.constantFrom('key_a', 'key_b'), day: fc.integer({ min: 0, max: 800 }), quantity: fc.integer({ min: 1, max: 1e9 }) })),
        fc.constantFrom<Granularity>('minute', 'hour', 'day', 'month'),
        (input, g) => {
          const rows = input.map((r) => ({ metric: r.metric, keyId: r.keyId, bucket: 20_000_000 + r.day * 1440, quantity: r.quantity }));
          const report = buildReport(rows, g, 1e6)!;
          for (const metric of ['requests', 'tokens']) {
            const sent = rows.filter((r) => r.metric === metric).reduce((a, r) => a + r.quantity, 0);
            const total = report.totals.find((x) => x.metric === metric)?.quantity ?? 0;
            const points = report.series.filter((s) => s.metric === metric).flatMap((s) => s.points).reduce((a, p) => a + p.quantity, 0);
            expect(total).toBe(sent);
            expect(points).toBe(sent);
          }
        },
      ),
    );
  });
});
