import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { InitialSchema1764000000000 } from '../database/migrations/1764000000000-initial-schema';
import { UsageMetering1764200000001 } from '../database/migrations/1764200000001-usage-metering';
import { BillingUsageTotals1764300000001 } from '../database/migrations/1764300000001-billing-usage-totals';
import { AdminReadIndexes1764700000001 } from '../database/migrations/1764700000001-admin-read-indexes';
import { UsageReadTables1764900000001 } from '../database/migrations/1764900000001-usage-read-tables';
import { upsertAdd } from '../database/sql';
import { addMetricTotals, bucketStart, coverRange, readMetricTotals } from './usage-metric-totals';
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

describe('usage_metric_totals (SQLite, migrated schema)', () => {
  const base = [InitialSchema1764000000000, UsageMetering1764200000001, BillingUsageTotals1764300000001, AdminReadIndexes1764700000001];
  let db: DataSource;
  afterEach(async () => {
    await db?.destroy();
  });

  // Usage spread over five months, at odd minutes, in both environments and two metrics.
  const start = m('2026-01-30T21:13:00.000Z');
  const rows = Array.from({ length: 400 }, (_, i) => ({
    consumer_id: `cons_${i % 3}`,
    bucket: start + i * 397,
    metric: i % 5 ? 'requests' : 'tokens',
    key_id: `key_${i % 2}`,
    environment: i % 7 ? 'live' : 'test',
    quantity: 1 + (i % 11),
  }));

  /** What the rollups say for [first, end) at a granularity, summed in code: the reference. */
  function expected(first: number, end: number, granularity: Granularity, metric?: string) {
    const out = new Map<string, number>();
    for (const r of rows) {
      if (r.bucket < first || r.bucket >= end || (metric && r.metric !== metric)) continue;
      const k = `${r.metric} ${bucketStart(r.bucket, granularity)}`;
      out.set(k, (out.get(k) ?? 0) + r.quantity);
    }
    return [...out.entries()].sort().map(([k, quantity]) => ({ key: k, quantity }));
  }

  it('the migration fills it from the stored rollups as the flush would have', async () => {
    const all = 'SELECT granularity, bucket, metric, environment, quantity FROM usage_metric_totals ORDER BY granularity, bucket, metric, environment';
    db = await new DataSource({ type: 'better-sqlite3', database: ':memory:', migrations: base }).initialize();
    await db.runMigrations();
    await upsertAdd(db, 'usage_rollups', ['consumer_id', 'bucket', 'metric', 'key_id'], ['quantity'], ['environment'], rows);
    const runner = db.createQueryRunner();
    await new UsageReadTables1764900000001().up(runner);
    await runner.release();
    const migrated = await db.query(all);
    await db.destroy();

    db = await new DataSource({ type: 'better-sqlite3', database: ':memory:', migrations: [...base, UsageReadTables1764900000001] }).initialize();
    await db.runMigrations();
    await addMetricTotals(db, rows);
    expect(migrated).toEqual(await db.query(all));
    // 30 January to 20 May: five months.
    expect(new Set(migrated.filter((r: { granularity: string }) => r.granularity === 'month').map((r: { bucket: number }) => r.bucket)).size).toBe(5);
  });

  it('answers every range and granularity as the rollups summed per bucket would', async () => {
    db = await new DataSource({ type: 'better-sqlite3', database: ':memory:', migrations: [...base, UsageReadTables1764900000001] }).initialize();
    await db.runMigrations();
    await addMetricTotals(db, rows.slice(0, 200));
    await addMetricTotals(db, rows.slice(200));
    const last = rows[rows.length - 1].bucket;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: start - 2000, max: last + 10 }),
        fc.integer({ min: 1, max: 80_000 }),
        fc.constantFrom(...GRANULARITIES),
        fc.constantFrom(undefined, 'tokens'),
        async (first, length, granularity, metric) => {
          const got = await readMetricTotals(db, first, first + length, granularity, metric, 100_000);
          expect(got.map((r) => ({ key: `${r.metric} ${r.bucket}`, quantity: r.quantity })).sort((a, b) => (a.key < b.key ? -1 : 1))).toEqual(
            expected(first, first + length, granularity, metric),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
