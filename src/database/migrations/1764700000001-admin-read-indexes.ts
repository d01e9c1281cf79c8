import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/**
 * Indexes for the reads that are not by one consumer:
 * - `usage_rollups` is keyed by consumer first, so "the last 24 hours of every consumer" (`/v1/admin/stats`,
 *   `/v1/admin/usage` without a consumer) scanned the whole table: 21.6 million rows for a month of hourly
 *   rollups of 10 000 consumers. This index leads on `bucket` and holds every column those reads use, so a
 *   time range is one contiguous index range read without touching the table (a covering index on SQLite
 *   and MySQL alike). The usage flush pays one more index entry per counter row.
 * - `api_keys.rotated_from_id`: rotation checks whether a key already has a successor.
 *
 * On a large existing `usage_rollups` the index build takes a while (InnoDB builds it online; SQLite
 * holds the write lock meanwhile): run `migrate` before starting the new version if the table is big.
 */
export class AdminReadIndexes1764700000001 implements MigrationInterface {
  name = 'AdminReadIndexes1764700000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'usage_rollups',
      new TableIndex({ name: 'ix_usage_rollups_bucket', columnNames: ['bucket', 'metric', 'consumer_id', 'key_id', 'environment', 'quantity'] }),
    );
    await queryRunner.createIndex('api_keys', new TableIndex({ name: 'ix_api_keys_rotated_from', columnNames: ['rotated_from_id'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('api_keys', 'ix_api_keys_rotated_from');
    await queryRunner.dropIndex('usage_rollups', 'ix_usage_rollups_bucket');
  }
}
