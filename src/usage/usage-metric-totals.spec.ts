import fc from 'fast-check';
import { bucketStart, coverRange } from './usage-metric-totals';
import { Granularity, GRANULARITIES } from './usage-query';

const m = (iso: string) => Date.parse(iso) / 60_000;
const iso = (minute: number) => new Date(minute * 60_000).toISOString();

describe('bucketStart', () => {
  it.each<[Granularity, string, string]>([
    ['minute', '2026-03-15T10:17:00.000Z', '2026-03-15T10:17:00.000Z'],
    ['hour', '2026-03-15T10:17:00.000Z', '2026-03-15T10:00:00.000Z'],
    ['day', '2026-03-15T10:17:00.000Z', '2026-03-15T00:00:00.000Z'],
    ['month', '2026-03-15T10:17:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['month', '2024-02-29T23:59:00.000Z', '2024-02-01T00:00:00.000Z'],
    ['month', '2026-12-31T23:59:00.000Z', '2026-12-01T00:00:00.000Z'],
  ])('%s of %s is %s', (g, at, start) => {
    expect(iso(bucketStart(m(at), g))).toBe(start);
  });
});

describe('coverRange', () => {
  it('reads whole buckets at the granularity asked for, and finer ones only at the edges', () => {
    const pieces = coverRange(m('2026-01-30T22:45:00.000Z'), m('2026-04-02T01:10:00.000Z'), 'month');
    expect(pieces.map((p) => [p.granularity, iso(p.first), iso(p.end)])).toEqual([
      ['minute', '2026-01-30T22:45:00.000Z', '2026-01-30T23:00:00.000Z'],
      ['hour', '2026-01-30T23:00:00.000Z', '2026-01-31T00:00:00.000Z'],
      ['day', '2026-01-31T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
      ['month', '2026-02-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z'],
      ['day', '2026-04-01T00:00:00.000Z', '2026-04-02T00:00:00.000Z'],
      ['hour', '2026-04-02T00:00:00.000Z', '2026-04-02T01:00:00.000Z'],
      ['minute', '2026-04-02T01:00:00.000Z', '2026-04-02T01:10:00.000Z'],
    ]);
  });

  it('never reads coarser than asked, and reads one piece for an aligned range', () => {
    expect(coverRange(m('2026-01-01T00:00:00.000Z'), m('2026-03-01T00:00:00.000Z'), 'day')).toEqual([
      { granularity: 'day', first: m('2026-01-01T00:00:00.000Z'), end: m('2026-03-01T00:00:00.000Z') },
    ]);
    expect(coverRange(m('2026-01-01T00:00:00.000Z'), m('2026-01-01T05:00:00.000Z'), 'minute')).toEqual([
      { granularity: 'minute', first: m('2026-01-01T00:00:00.000Z'), end: m('2026-01-01T05:00:00.000Z') },
    ]);
    expect(coverRange(10, 10, 'month')).toEqual([]);
  });

  it('covers every minute of the range exactly once, with aligned buckets, in at most seven pieces', () => {
    const start = m('2020-01-01T00:00:00.000Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * 366 * 1440 }),
        fc.integer({ min: 0, max: 2 * 366 * 1440 }),
        fc.constantFrom(...GRANULARITIES),
        (offset, length, granularity) => {
          const first = start + offset;
          const end = first + length;
          const pieces = coverRange(first, end, granularity);
          expect(pieces.length).toBeLessThanOrEqual(7);
          let at = first;
          for (const p of pieces) {
            expect(p.first).toBe(at);
            expect(p.end).toBeGreaterThan(p.first);
            expect(GRANULARITIES.indexOf(p.granularity)).toBeLessThanOrEqual(GRANULARITIES.indexOf(granularity));
            // Whole buckets of the piece's granularity: both ends on a bucket boundary.
            expect(bucketStart(p.first, p.granularity)).toBe(p.first);
            expect(bucketStart(p.end, p.granularity)).toBe(p.end);
            at = p.end;
          }
          expect(at).toBe(length === 0 ? first : end);
          // Finer buckets only at the edges: at most 59 minutes, 23 hours and 30 days on either side.
          const finer = pieces
            .filter((x) => x.granularity !== granularity && x.granularity !== 'month')
            .reduce((n, x) => n + (x.end - x.first) / { minute: 1, hour: 60, day: 1440 }[x.granularity as 'minute'], 0);
          expect(finer).toBeLessThanOrEqual(2 * (59 + 23 + 30));
        },
      ),
      { numRuns: 500 },
    );
  });
});
