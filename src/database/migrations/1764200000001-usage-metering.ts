import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';
import { noPadBinaryCollation } from '../dialect';

/**
 * Usage metering support:
 * - `usage_flushes`: one row per batch of buffered counters written by an instance, inserted in the
 *   same transaction as the batch. A flush whose commit outcome is unknown (the connection died during
 *   COMMIT) is retried under the same id, and the id tells whether it was already applied, so a count
 *   is written exactly once.
 * - `usage_events.idempotency_key` compared byte for byte on MySQL/MariaDB too: `utf8mb4_bin` is a
 *   PAD SPACE collation there, so `"a"` and `"a "` would collide in the unique index. The NO PAD binary
 *   collation is named differently on MariaDB and MySQL 8, and the schema API cannot choose between
 *   them, hence the one raw ALTER, on MySQL only. SQLite already compares text bytewise.
 */
export class UsageMetering1764200000001 implements MigrationInterface {
  name = 'UsageMetering1764200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    await queryRunner.createTable(
      new Table({
        name: 'usage_flushes',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true },
          { name: 'created_at', type: 'datetime', precision: mysql ? 3 : undefined },
        ],
        indices: [new TableIndex({ name: 'ix_usage_flushes_created', columnNames: ['created_at'] })],
      }),
    );
    if (mysql) {
      const collation = await noPadBinaryCollation(queryRunner);
      if (collation) {
        await queryRunner.query(
          `ALTER TABLE \`usage_events\` MODIFY \`idempotency_key\` varchar(255) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL`,
        );
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'mysql') {
      await queryRunner.query(
        'ALTER TABLE `usage_events` MODIFY `idempotency_key` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL',
      );
    }
    await queryRunner.dropTable('usage_flushes', true);
  }
}
