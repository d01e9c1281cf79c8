import { MigrationInterface, QueryRunner, Table, TableColumn, TableColumnOptions, TableIndex } from 'typeorm';

/**
 * Keys brought from another system (POST /v1/admin/consumers/{id}/keys/import, `cli import-keys`):
 * - `external_id`: the old system's id of the key, unique per consumer (NULLs never conflict, so keys
 *   without one are not constrained).
 * - `legacy_scheme`, `legacy_hash`: a key imported as its old hash is stored under a lookup derived from
 *   that hash in `hash` (see src/auth/legacy-hash.ts) until its first successful use re-hashes it; a bcrypt
 *   key also keeps its bcrypt string here, since a salted hash cannot be looked up.
 * - `key_import_secrets`: the HMAC secrets of old systems that keyed their hashes, referenced by their
 *   fingerprint from the lookups of the keys imported with them.
 */
export class KeyImport1765000000001 implements MigrationInterface {
  name = 'KeyImport1765000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    const bin: Partial<TableColumnOptions> = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    await queryRunner.addColumns('api_keys', [
      new TableColumn({ name: 'external_id', type: 'varchar', length: '200', isNullable: true, ...bin }),
      new TableColumn({ name: 'legacy_scheme', type: 'varchar', length: '16', isNullable: true }),
      new TableColumn({ name: 'legacy_hash', type: 'varchar', length: '100', isNullable: true, ...bin }),
    ]);
    await queryRunner.createIndex('api_keys', new TableIndex({ name: 'uq_api_keys_external_id', columnNames: ['consumer_id', 'external_id'], isUnique: true }));
    await queryRunner.createTable(
      new Table({
        name: 'key_import_secrets',
        columns: [
          { name: 'id', type: 'varchar', length: '40', isPrimary: true, ...bin },
          { name: 'secret', type: 'varchar', length: '1024', ...bin },
          { name: 'created_at', type: 'datetime', precision: mysql ? 3 : undefined },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('key_import_secrets');
    await queryRunner.dropIndex('api_keys', 'uq_api_keys_external_id');
    await queryRunner.dropColumns('api_keys', ['external_id', 'legacy_scheme', 'legacy_hash']);
  }
}
