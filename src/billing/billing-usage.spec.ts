import { DataSource } from 'typeorm';
import { InitialSchema1764000000000 } from '../database/migrations/1764000000000-initial-schema';
import { BillingUsageTotals1764300000001 } from '../database/migrations/1764300000001-billing-usage-totals';
import { sqlTime } from '../database/sql';
import { measurePeriods } from './period-usage';
import { addUsageTotals, sumLiveUsage } from './usage-totals';

const minute = (iso: string) => Math.floor(Date.parse(iso) / 60000);
const day = (iso: string) => Math.floor(Date.parse(iso) / 86_400_000);
const d = (iso: string) => new Date(iso);

describe('usage totals and period usage (SQLite, migrated schema)', () => {
  let db: DataSource;

  beforeEach(async () => {
    db = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      migrations: [InitialSchema1764000000000, BillingUsageTotals1764300000001],
    });
    await db.initialize();
    await db.runMigrations();
  });
  afterEach(async () => {
    await db.destroy();
  });

  async function consumer(id: string, createdAt: string): Promise<void> {
    await db.query(
      `INSERT INTO consumers (id, name, metadata, status, billing_anchor_day, created_at, updated_at) VALUES (?, 'x', '{}', 'active', 1, ?, ?)`,
      [id, sqlTime(d(createdAt)), sqlTime(d(createdAt))],
    );
  }

  async function period(id: string, consumerId: string, start: string, end: string, status: 'open' | 'closed', closing?: { from: string; usage: Record<string, number> }) {
    await db.query(
      `INSERT INTO billing_periods (id, consumer_id, start, "end", status, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
      [id, consumerId, sqlTime(d(start)), sqlTime(d(end)), status, sqlTime(d(start))],
    );
    if (status === 'closed') {
      await db.query(
        `INSERT INTO invoices (id, period_id, consumer_id, currency, period_start, period_end, lines, total_minor, range_usage, created_at)
         VALUES (?, ?, ?, NULL, ?, ?, '[]', 0, ?, ?)`,
        [`inv_${id}`, id, consumerId, sqlTime(d(start)), sqlTime(d(end)), JSON.stringify(closing ? { fromDay: day(closing.from), usage: closing.usage } : null), sqlTime(d(end))],
      );
    }
  }

  const usage = (consumer_id: string, at: string, quantity: number, metric = 'requests', environment = 'live') => ({
    consumer_id,
    bucket: minute(at),
    metric,
    environment,
    quantity,
    key_id: 'key_x',
  });

  it('adds rollup rows into one row per consumer, environment, metric and day', async () => {
    await addUsageTotals(db, [
      usage('c1', '2025-04-01T00:00:00Z', 5),
      usage('c1', '2025-04-01T23:59:00Z', 7),
      usage('c1', '2025-04-02T00:00:00Z', 1),
      usage('c1', '2025-04-01T10:00:00Z', 3, 'sms'),
      usage('c1', '2025-04-01T10:00:00Z', 4, 'requests', 'test'),
      usage('c1', '2025-04-01T10:00:00Z', 0, 'zero'),
    ]);
    await addUsageTotals(db, [usage('c1', '2025-04-01T12:00:00Z', 10)]);
    const rows = await db.query('SELECT consumer_id, environment, metric, day, quantity FROM usage_daily_totals ORDER BY environment, metric, day');
    expect(rows).toEqual([
      { consumer_id: 'c1', environment: 'live', metric: 'requests', day: day('2025-04-01T00:00:00Z'), quantity: 22 },
      { consumer_id: 'c1', environment: 'live', metric: 'requests', day: day('2025-04-02T00:00:00Z'), quantity: 1 },
      { consumer_id: 'c1', environment: 'live', metric: 'sms', day: day('2025-04-01T00:00:00Z'), quantity: 3 },
      { consumer_id: 'c1', environment: 'test', metric: 'requests', day: day('2025-04-01T00:00:00Z'), quantity: 4 },
    ]);
  });

  it('sums live usage over [fromDay, toDay) for many consumers at once', async () => {
    await addUsageTotals(db, [
      usage('c1', '2025-03-31T23:59:00Z', 1),
      usage('c1', '2025-04-01T00:00:00Z', 10),
      usage('c1', '2025-04-30T23:59:00Z', 20),
      usage('c1', '2025-05-01T00:00:00Z', 100),
      usage('c1', '2025-04-10T00:00:00Z', 1000, 'requests', 'test'),
      usage('c2', '2025-04-10T00:00:00Z', 5, 'sms'),
    ]);
    const from = day('2025-04-01T00:00:00Z');
    const to = day('2025-05-01T00:00:00Z');
    const both = ['requests', 'sms'];
    const sums = await sumLiveUsage(
      db,
      [
      { consumerId: 'c1', fromDay: from, toDay: to, metrics: both },
      { consumerId: 'c2', fromDay: from, toDay: to, metrics: ['requests'] },
      { consumerId: 'c3', fromDay: from, toDay: to, metrics: both },
      { consumerId: 'c1', fromDay: 0, toDay: to, metrics: ['requests'] },
      { consumerId: 'c2', fromDay: 0, toDay: to, metrics: [] },
      ],
      (r) => r.toDay - 1, // the last day of each range
    );
    const zero = { requests: 0, sms: 0 };
    expect(sums.get(`c1|${from}|${to}`)).toEqual({ total: { requests: 30, sms: 0 }, tail: { requests: 20, sms: 0 }, lookback: zero });
    expect(sums.get(`c2|${from}|${to}`)).toEqual({ total: { requests: 0 }, tail: { requests: 0 }, lookback: { requests: 0 } });
    expect(sums.get(`c3|${from}|${to}`)).toEqual({ total: zero, tail: zero, lookback: zero });
    expect(sums.get(`c1|0|${to}`)).toEqual({ total: { requests: 31 }, tail: { requests: 20 }, lookback: { requests: 0 } });
    expect(sums.get(`c2|0|${to}`)).toEqual({ total: {}, tail: {}, lookback: {} });

    // The days just before a range, read in the same pass.
    const before = await sumLiveUsage(db, [{ consumerId: 'c1', fromDay: from, toDay: to, metrics: ['requests'], lookbackFromDay: from - 1 }]);
    expect(before.get(`c1|${from}|${to}`)).toEqual({ total: { requests: 30 }, tail: { requests: 30 }, lookback: { requests: 1 } });
  });

  const plan = (...metrics: string[]) => ({
    id: 'plan_1',
    name: 'p',
    currency: 'USD',
    baseFeeMinor: 0,
    quotas: [],
    prices: metrics.map((metric) => ({ metric, model: 'per_unit' as const, unitPrice: '1' })),
  });

  it('measures a first period from the beginning of time, and its closing window when it closes', async () => {
    await consumer('c1', '2025-03-15T10:00:00Z');
    await addUsageTotals(db, [
      usage('c1', '2025-03-01T00:00:00Z', 50), // back-dated before creation: still the first period
      usage('c1', '2025-03-20T00:00:00Z', 100),
      usage('c1', '2025-03-29T00:00:00Z', 7),
      usage('c1', '2025-03-31T23:00:00Z', 3, 'sms'),
      usage('c1', '2025-04-01T00:00:00Z', 1000), // the next period
    ]);
    const p1 = { id: 'p1', consumerId: 'c1', start: d('2025-03-15T10:00:00Z'), end: d('2025-04-01T00:00:00Z'), planSnapshot: plan('requests', 'sms') };
    expect((await measurePeriods(db, [p1])).get('p1')).toEqual({ ownRange: { requests: 157, sms: 3 }, carriedIn: {} });
    // Closed an hour after its end: the window is its last three days.
    expect((await measurePeriods(db, [p1], d('2025-04-01T01:00:00Z'))).get('p1')!.closing).toEqual({
      fromDay: day('2025-03-29T00:00:00Z'),
      usage: { requests: 7, sms: 3 },
    });
    // Closed by hand on the 20th: the window starts three days before that.
    expect((await measurePeriods(db, [p1], d('2025-03-20T12:00:00Z'))).get('p1')!.closing).toEqual({
      fromDay: day('2025-03-17T00:00:00Z'),
      usage: { requests: 107, sms: 3 },
    });
  });

  it('carries what arrived in the closing window of the previous period after its close', async () => {
    await consumer('c1', '2025-03-15T10:00:00Z');
    await period('p1', 'c1', '2025-03-15T10:00:00Z', '2025-04-01T00:00:00Z', 'closed', {
      from: '2025-03-29T00:00:00Z',
      usage: { requests: 100, sms: 9, seats: 0 },
    });
    await period('p2', 'c1', '2025-04-01T00:00:00Z', '2025-05-01T00:00:00Z', 'open');
    await addUsageTotals(db, [
      usage('c1', '2025-03-30T00:00:00Z', 100), // there at the close
      usage('c1', '2025-03-31T23:00:00Z', 30), // arrived after the close
      usage('c1', '2025-03-20T00:00:00Z', 500), // before the window: never carried
      usage('c1', '2025-03-30T00:00:00Z', 4, 'sms'), // p2 does not price sms: nothing to carry
      usage('c1', '2025-03-30T00:00:00Z', 6, 'tokens'), // p1 did not price tokens: never billed
      usage('c1', '2025-03-30T00:00:00Z', 2, 'seats'), // p1 saw no seats at its close: all 2 arrived late
      usage('c1', '2025-04-05T00:00:00Z', 1000),
      usage('c1', '2025-04-05T00:00:00Z', 7, 'unpriced'),
    ]);
    const measured = await measurePeriods(db, [
      { id: 'p2', consumerId: 'c1', start: d('2025-04-01T00:00:00Z'), end: d('2025-05-01T00:00:00Z'), planSnapshot: plan('requests', 'tokens', 'seats') },
    ]);
    expect(measured.get('p2')).toEqual({ ownRange: { requests: 1000, tokens: 0, seats: 0 }, carriedIn: { requests: 30, seats: 2 } });
  });

  it('measures nothing for a period without a plan', async () => {
    await consumer('c1', '2025-03-15T10:00:00Z');
    await addUsageTotals(db, [usage('c1', '2025-03-20T00:00:00Z', 100)]);
    const measured = await measurePeriods(db, [{ id: 'p1', consumerId: 'c1', start: d('2025-03-15T10:00:00Z'), end: d('2025-04-01T00:00:00Z'), planSnapshot: null }]);
    expect(measured.get('p1')).toEqual({ ownRange: {}, carriedIn: {} });
  });

  it('carries nothing from a previous period that is still open', async () => {
    await consumer('c1', '2025-03-15T10:00:00Z');
    await period('p1', 'c1', '2025-03-15T10:00:00Z', '2025-04-01T00:00:00Z', 'open');
    await addUsageTotals(db, [usage('c1', '2025-03-20T00:00:00Z', 100), usage('c1', '2025-04-02T00:00:00Z', 1)]);
    const measured = await measurePeriods(db, [
      { id: 'p2', consumerId: 'c1', start: d('2025-04-01T00:00:00Z'), end: d('2025-05-01T00:00:00Z'), planSnapshot: plan('requests') },
    ]);
    expect(measured.get('p2')).toEqual({ ownRange: { requests: 1 }, carriedIn: {} });
  });
});
