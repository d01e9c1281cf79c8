import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

/**
 * Billing reads usage from daily totals instead of the minute rollups: a month of hourly rollups for
 * 10 000 consumers is 21.6 million rows, which no GROUP BY aggregates within the close budget, while
 * the same month is 0.9 million daily rows (see docs/billing.md for the measurements). The usage flush
 * adds to both tables in one transaction (`addUsageTotals`). Periods start and end at midnight UTC, so a
 * day never straddles two periods.
 *
 * Invoices also keep the usage of their period's last days as it stood at close (`range_usage`), from
 * which the next period computes what arrived late, and a period without a plan has an invoice without a
 * currency.
 */
export class BillingUsageTotals1764300000001 implements MigrationInterface {
  name = 'BillingUsageTotals1764300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    const bin = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    await queryRunner.createTable(
      new Table({
        name: 'usage_daily_totals',
        // Key order matters: grouping a page of consumers by (consumer, metric) follows the primary key,
        // so MySQL aggregates while it scans instead of sorting through a temporary table.
        columns: [
          { name: 'consumer_id', type: 'varchar', length: '40', isPrimary: true, ...bin },
          { name: 'environment', type: 'varchar', length: '8', isPrimary: true },
          { name: 'metric', type: 'varchar', length: '64', isPrimary: true, ...bin },
          { name: 'day', type: 'int', isPrimary: true },
          { name: 'quantity', type: 'bigint', default: 0 },
        ],
      }),
    );
    const day = mysql ? 'FLOOR(bucket / 1440)' : 'bucket / 1440';
    await queryRunner.query(
      `INSERT INTO usage_daily_totals (consumer_id, environment, metric, day, quantity)
       SELECT consumer_id, environment, metric, ${day}, SUM(quantity) FROM usage_rollups
       GROUP BY consumer_id, environment, metric, ${day}`,
    );

    await queryRunner.addColumn('invoices', new TableColumn({ name: 'range_usage', type: 'text', isNullable: true }));
    await queryRunner.changeColumn(
      'invoices',
      'currency',
      new TableColumn({ name: 'currency', type: 'varchar', length: '3', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE invoices SET currency = 'XXX' WHERE currency IS NULL`);
    await queryRunner.changeColumn('invoices', 'currency', new TableColumn({ name: 'currency', type: 'varchar', length: '3' }));
    await queryRunner.dropColumn('invoices', 'range_usage');
    await queryRunner.dropTable('usage_daily_totals', true);
  }
}
