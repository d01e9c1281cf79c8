import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/**
 * `key_outcomes`: requests refused with a known key (revoked, expired, suspended, IP/origin, scope,
 * rate limit, quota), counted per key, minute and outcome beside usage_rollups, so that a key's traffic
 * can be shown split by outcome. Never read by billing.
 */
export class KeyOutcomes1764600000001 implements MigrationInterface {
  name = 'KeyOutcomes1764600000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    const bin = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    await queryRunner.createTable(
      new Table({
        name: 'key_outcomes',
        columns: [
          { name: 'key_id', type: 'varchar', length: '40', isPrimary: true, ...bin },
          { name: 'bucket', type: 'int', isPrimary: true },
          { name: 'outcome', type: 'varchar', length: '32', isPrimary: true, ...bin },
          { name: 'quantity', type: 'bigint', default: 0 },
        ],
        indices: [new TableIndex({ name: 'ix_key_outcomes_bucket', columnNames: ['bucket'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('key_outcomes', true);
  }
}
