import { DataSource } from 'typeorm';
import { usageSettings } from '../config/settings';
import { validateEnv } from '../config/env.validation';
import { InitialSchema1764000000000 } from '../database/migrations/1764000000000-initial-schema';
import { UsageMetering1764200000001 } from '../database/migrations/1764200000001-usage-metering';
import { BillingUsageTotals1764300000001 } from '../database/migrations/1764300000001-billing-usage-totals';
import { AdminReadIndexes1764700000001 } from '../database/migrations/1764700000001-admin-read-indexes';
import { UsageReadTables1764900000001 } from '../database/migrations/1764900000001-usage-read-tables';
import { sqlTime } from '../database/sql';
import { RollupRow, writeUsageBatch } from './usage-batch';
import { UsageRetentionService } from './usage-retention.service';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-10T12:00:00.000Z');

/** The real SQL against an in-memory SQLite database with the real migrations. */
describe('usage SQL on SQLite', () => {
  let ds: DataSource;
  beforeEach(async () => {
    ds = await new DataSource({ type: 'better-sqlite3', database: ':memory:', migrations: [InitialSchema1764000000000, UsageMetering1764200000001, BillingUsageTotals1764300000001, AdminReadIndexes1764700000001, UsageReadTables1764900000001] }).initialize();
    await ds.runMigrations();
    await insertConsumer('cons_1');
  });
  afterEach(async () => {
    await ds.destroy();
  });

  const row = (over: Partial<RollupRow> = {}): RollupRow => ({
    consumer_id: 'cons_1',
    bucket: T0 / 60_000,
    metric: 'requests',
    key_id: 'key_a',
    environment: 'live',
    quantity: 1,
    ...over,
  });
  const insertConsumer = (id: string) =>
    ds.query(
      `INSERT INTO consumers (id, name, metadata, status, billing_anchor_day, created_at, updated_at) VALUES (?, 'c', '{}', 'active', 1, ?, ?)`,
      [id, sqlTime(new Date(T0)), sqlTime(new Date(T0))],
    );
  const rollups = () => ds.query('SELECT consumer_id, bucket, metric, key_id, quantity FROM usage_rollups ORDER BY bucket, metric, key_id');
  const insertKey = (id: string) =>
    ds.query(
      `INSERT INTO api_keys (id, consumer_id, kind, name, environment, start, hash, scopes, allowed_ips, allowed_origins, rate_limits, metadata, created_at, updated_at)
       VALUES (?, 'cons_1', 'secret', 'k', 'live', 'tg_live_x', ?, '[]', '[]', '[]', '[]', '{}', ?, ?)`,
      [id, `hash-${id}`, sqlTime(new Date(T0)), sqlTime(new Date(T0))],
    );
  const lastUsed = async (id: string) => (await ds.query('SELECT last_used_at AS t FROM api_keys WHERE id = ?', [id]))[0].t;

  it('adds to existing counters and applies a batch id once', async () => {
    const batch = { id: 'flush_1', rows: [row(), row({ metric: 'tokens', quantity: 40 })], lastUsed: null, oldestAt: T0 };
    expect(await ds.transaction((m) => writeUsageBatch(m, batch))).toBe(true);
    expect(await ds.transaction((m) => writeUsageBatch(m, batch))).toBe(false);
    await ds.transaction((m) => writeUsageBatch(m, { ...batch, id: 'flush_2', rows: [row({ quantity: 2 })] }));
    expect(await rollups()).toEqual([
      { consumer_id: 'cons_1', bucket: T0 / 60_000, metric: 'requests', key_id: 'key_a', quantity: 3 },
      { consumer_id: 'cons_1', bucket: T0 / 60_000, metric: 'tokens', key_id: 'key_a', quantity: 40 },
    ]);
    // The same counts over all consumers, at every granularity (2026-03-10T12:00Z: hour, day and month starts).
    const minute = T0 / 60_000;
    const day = Date.parse('2026-03-10T00:00:00.000Z') / 60_000;
    const month = Date.parse('2026-03-01T00:00:00.000Z') / 60_000;
    const grains = [
      ['day', day],
      ['hour', minute],
      ['minute', minute],
      ['month', month],
    ] as const;
    expect(await ds.query('SELECT granularity, bucket, metric, environment, quantity FROM usage_metric_totals ORDER BY metric, granularity')).toEqual([
      ...grains.map(([granularity, bucket]) => ({ granularity, bucket, metric: 'requests', environment: 'live', quantity: 3 })),
      ...grains.map(([granularity, bucket]) => ({ granularity, bucket, metric: 'tokens', environment: 'live', quantity: 40 })),
    ]);
  });

  it('leaves out the counts of consumers that no longer exist', async () => {
    await ds.transaction((m) => writeUsageBatch(m, { id: 'f1', rows: [row(), row({ consumer_id: 'cons_gone', quantity: 5 })], lastUsed: null, oldestAt: T0 }));
    expect(await rollups()).toEqual([{ consumer_id: 'cons_1', bucket: T0 / 60_000, metric: 'requests', key_id: 'key_a', quantity: 1 }]);
    expect(await ds.query('SELECT consumer_id, quantity FROM usage_daily_totals')).toEqual([{ consumer_id: 'cons_1', quantity: 1 }]);
    expect(await ds.query("SELECT quantity FROM usage_metric_totals WHERE granularity = 'minute'")).toEqual([{ quantity: 1 }]);
  });

  it('sets lastUsedAt of the batch keys, never backwards', async () => {
    await insertKey('key_a');
    await insertKey('key_b');
    await ds.transaction((m) => writeUsageBatch(m, { id: 'f1', rows: [], lastUsed: { keyIds: ['key_a', 'key_b'], at: T0 + 5000 }, oldestAt: T0 }));
    await ds.transaction((m) => writeUsageBatch(m, { id: 'f2', rows: [], lastUsed: { keyIds: ['key_a'], at: T0 + 1000 }, oldestAt: T0 }));
    await ds.transaction((m) => writeUsageBatch(m, { id: 'f3', rows: [], lastUsed: { keyIds: ['key_b'], at: T0 + 9000 }, oldestAt: T0 }));
    expect(await lastUsed('key_a')).toBe(sqlTime(new Date(T0 + 5000)));
    expect(await lastUsed('key_b')).toBe(sqlTime(new Date(T0 + 9000)));
  });

  it('forgets events after max(35, backfill + 1) days, and flush ids after two days', async () => {
    const insertEvent = (key: string, createdAt: number) =>
      ds.query(
        `INSERT INTO usage_events (consumer_id, idempotency_key, key_id, environment, metric, quantity, "timestamp", properties, fingerprint, created_at)
         VALUES ('cons_1', ?, 'key_a', 'live', 'tokens', 1, ?, NULL, 'f', ?)`,
        [key, sqlTime(new Date(createdAt)), sqlTime(new Date(createdAt))],
      );
    const now = T0;
    await insertEvent('old', now - 41 * DAY);
    await insertEvent('edge', now - 40 * DAY - 1);
    await insertEvent('kept', now - 40 * DAY + 1000);
    await insertEvent('new', now - DAY);
    await ds.query('INSERT INTO usage_flushes (id, created_at) VALUES (?, ?), (?, ?)', ['f-old', sqlTime(new Date(now - 3 * DAY)), 'f-new', sqlTime(new Date(now - DAY))]);
    // USAGE_BACKFILL_DAYS=39 → keep 40 days
    const retention = new UsageRetentionService(ds, usageSettings(validateEnv({ USAGE_BACKFILL_DAYS: '39' })));
    expect(await retention.run(now)).toBe(2);
    expect((await ds.query('SELECT idempotency_key AS k FROM usage_events ORDER BY k')).map((r: { k: string }) => r.k)).toEqual(['kept', 'new']);
    expect((await ds.query('SELECT id FROM usage_flushes')).map((r: { id: string }) => r.id)).toEqual(['f-new']);

    const short = new UsageRetentionService(ds, usageSettings(validateEnv({ USAGE_BACKFILL_DAYS: '7' })));
    await insertEvent('day-36', now - 36 * DAY);
    await insertEvent('day-34', now - 34 * DAY);
    expect(await short.run(now)).toBe(2); // 40 and 36 days old; kept for 35 days whatever the backfill
    expect((await ds.query('SELECT idempotency_key AS k FROM usage_events ORDER BY k')).map((r: { k: string }) => r.k)).toEqual(['day-34', 'new']);
  });
});
