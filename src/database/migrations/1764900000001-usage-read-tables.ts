import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { upsertAdd } from '../sql';

const MINUTE_MS = 60_000;

/**
 * Reads across consumers stop reading the minute rollups through an index on the bucket:
 * - `usage_metric_totals`: the usage of all consumers together per granularity (minute, hour, day,
 *   month), bucket, metric and environment, added to by the usage flush beside the rollups. Usage of all
 *   consumers by metric (`/v1/admin/usage` without consumerId, `/v1/admin/stats`' request counts, the
 *   console's traffic chart) reads a few rows per bucket instead of one per consumer, key and minute.
 *   Filled here from the rollups already stored.
 * - `usage_daily_totals` gets an index by day that holds every column, so that a day's usage of all
 *   consumers (the top consumers, and which consumers had usage in a range) is one index range.
 * - `ix_usage_rollups_bucket` (1764700000001) goes: it copied every rollup row into a second B-tree, and
 *   since it held the quantity, every count the flush added to an existing row rewrote its entry there;
 *   it halved the flush rate of adding to existing rows and doubled the cost of loading rollups in bulk.
 *
 * On a large `usage_rollups` the fill reads the whole table once (through the index it then drops). Run
 * `migrate` with the writers stopped: counts an instance of the previous version writes meanwhile reach
 * the rollups and daily totals but not `usage_metric_totals`.
 */
export class UsageReadTables1764900000001 implements MigrationInterface {
  name = 'UsageReadTables1764900000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    const bin = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    await queryRunner.createTable(
      new Table({
        name: 'usage_metric_totals',
        columns: [
          { name: 'granularity', type: 'varchar', length: '8', isPrimary: true },
          { name: 'bucket', type: 'int', isPrimary: true },
          { name: 'metric', type: 'varchar', length: '64', isPrimary: true, ...bin },
          { name: 'environment', type: 'varchar', length: '8', isPrimary: true },
          { name: 'quantity', type: 'bigint', default: 0 },
        ],
      }),
    );
    await queryRunner.query(
      `INSERT INTO usage_metric_totals (granularity, bucket, metric, environment, quantity)
       SELECT 'minute', bucket, metric, environment, SUM(quantity) FROM usage_rollups GROUP BY bucket, metric, environment`,
    );
    for (const [granularity, minutes] of [
      ['hour', 60],
      ['day', 1440],
    ] as const) {
      await queryRunner.query(
        `INSERT INTO usage_metric_totals (granularity, bucket, metric, environment, quantity)
         SELECT '${granularity}', bucket - bucket % ${minutes}, metric, environment, SUM(quantity) FROM usage_metric_totals
         WHERE granularity = 'minute' GROUP BY bucket - bucket % ${minutes}, metric, environment`,
      );
    }
    // Months differ in length: folded from the days here, as the flush does.
    const days: { bucket: unknown; metric: string; environment: string; quantity: unknown }[] = await queryRunner.query(
      "SELECT bucket, metric, environment, quantity FROM usage_metric_totals WHERE granularity = 'day'",
    );
    const months = new Map<string, { granularity: string; bucket: number; metric: string; environment: string; quantity: number }>();
    for (const d of days) {
      const at = new Date(Number(d.bucket) * MINUTE_MS);
      const bucket = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1) / MINUTE_MS;
      const key = `${bucket}\u0000${d.metric}\u0000${d.environment}`;
      const month = months.get(key) ?? { granularity: 'month', bucket, metric: d.metric, environment: d.environment, quantity: 0 };
      month.quantity += Number(d.quantity);
      months.set(key, month);
    }
    await upsertAdd(queryRunner.manager, 'usage_metric_totals', ['granularity', 'bucket', 'metric', 'environment'], ['quantity'], [], [...months.values()]);

    await queryRunner.createIndex(
      'usage_daily_totals',
      new TableIndex({ name: 'ix_usage_daily_totals_day', columnNames: ['day', 'metric', 'environment', 'consumer_id', 'quantity'] }),
    );
    await queryRunner.dropIndex('usage_rollups', 'ix_usage_rollups_bucket');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'usage_rollups',
      new TableIndex({ name: 'ix_usage_rollups_bucket', columnNames: ['bucket', 'metric', 'consumer_id', 'key_id', 'environment', 'quantity'] }),
    );
    await queryRunner.dropIndex('usage_daily_totals', 'ix_usage_daily_totals_day');
    await queryRunner.dropTable('usage_metric_totals', true);
  }
}
