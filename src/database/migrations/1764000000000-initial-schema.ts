import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';

/**
 * The whole schema, written with TypeORM's schema API so that SQLite and MySQL/MariaDB render it alike.
 * Times are datetime(3) in UTC; usage buckets are whole minutes since the epoch (an integer), which keeps
 * the hot tables small and lets hour/day roll-ups be computed with integer arithmetic on both databases.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    // Byte-for-byte comparison for values that are case-sensitive (hashes, idempotency keys).
    const bin: Partial<TableColumnOptions> = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    const id = (name = 'id'): TableColumnOptions => ({ name, type: 'varchar', length: '40', isPrimary: true, ...bin });
    const ref = (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: '40',
      isNullable: nullable,
      ...bin,
    });
    const time = (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: mysql ? 3 : undefined,
      isNullable: nullable,
    });
    const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
    const str = (name: string, length: number, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    });

    await queryRunner.createTable(
      new Table({
        name: 'plans',
        columns: [
          id(),
          str('name', 200),
          str('currency', 3),
          { name: 'base_fee_minor', type: 'bigint', default: 0 },
          text('rate_limits'),
          text('quotas'),
          text('prices'),
          text('metadata'),
          time('created_at'),
          time('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'consumers',
        columns: [
          id(),
          str('name', 200),
          { ...str('external_id', 200, true), ...bin },
          text('metadata'),
          str('status', 16),
          ref('plan_id', true),
          { name: 'billing_anchor_day', type: 'int', default: 1 },
          time('created_at'),
          time('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_consumers_external_id', columnNames: ['external_id'], isUnique: true }),
          new TableIndex({ name: 'ix_consumers_plan', columnNames: ['plan_id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'api_keys',
        columns: [
          id(),
          ref('consumer_id', true),
          str('kind', 16),
          str('name', 200),
          str('environment', 8),
          str('start', 40),
          { ...str('hash', 64), ...bin },
          { name: 'hash_version', type: 'int', default: 1 },
          text('scopes'),
          time('expires_at', true),
          time('revoked_at', true),
          time('last_used_at', true),
          text('allowed_ips'),
          text('allowed_origins'),
          text('rate_limits'),
          text('metadata'),
          ref('rotated_from_id', true),
          ref('created_by_key_id', true),
          time('created_at'),
          time('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_api_keys_hash', columnNames: ['hash'], isUnique: true }),
          new TableIndex({ name: 'ix_api_keys_consumer', columnNames: ['consumer_id', 'id'] }),
          new TableIndex({ name: 'ix_api_keys_kind', columnNames: ['kind', 'id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'usage_rollups',
        columns: [
          { ...ref('consumer_id'), isPrimary: true },
          { name: 'bucket', type: 'int', isPrimary: true },
          { ...str('metric', 64), isPrimary: true, ...bin },
          { ...ref('key_id'), isPrimary: true },
          str('environment', 8),
          { name: 'quantity', type: 'bigint', default: 0 },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'usage_events',
        columns: [
          { name: 'seq', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          ref('consumer_id'),
          { ...str('idempotency_key', 255), ...bin },
          ref('key_id'),
          str('environment', 8),
          { ...str('metric', 64), ...bin },
          { name: 'quantity', type: 'bigint' },
          time('timestamp'),
          text('properties', true),
          str('fingerprint', 64),
          time('created_at'),
        ],
        indices: [
          new TableIndex({
            name: 'uq_usage_events_idempotency',
            columnNames: ['consumer_id', 'idempotency_key'],
            isUnique: true,
          }),
          new TableIndex({ name: 'ix_usage_events_created', columnNames: ['created_at'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'billing_periods',
        columns: [
          id(),
          ref('consumer_id'),
          time('start'),
          time('end'),
          str('status', 16),
          ref('plan_id', true),
          text('plan_snapshot', true),
          time('closed_at', true),
          time('created_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_billing_periods_consumer_start', columnNames: ['consumer_id', 'start'], isUnique: true }),
          new TableIndex({ name: 'ix_billing_periods_status_end', columnNames: ['status', 'end'] }),
          new TableIndex({ name: 'ix_billing_periods_start', columnNames: ['start'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'invoices',
        columns: [
          id(),
          ref('period_id'),
          ref('consumer_id'),
          str('currency', 3),
          time('period_start'),
          time('period_end'),
          text('lines'),
          { name: 'total_minor', type: 'bigint' },
          time('created_at'),
        ],
        indices: [
          new TableIndex({ name: 'uq_invoices_period', columnNames: ['period_id'], isUnique: true }),
          new TableIndex({ name: 'ix_invoices_consumer', columnNames: ['consumer_id', 'id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'audit_entries',
        columns: [
          { name: 'seq', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { ...str('id', 40), ...bin },
          ref('actor_key_id', true),
          str('action', 64),
          str('target_type', 32),
          ref('target_id', true),
          text('before', true),
          text('after', true),
          str('ip', 64, true),
          str('request_id', 64, true),
          time('at'),
          str('prev_hash', 64),
          str('hash', 64),
          text('canonical'),
        ],
        indices: [
          new TableIndex({ name: 'uq_audit_entries_id', columnNames: ['id'], isUnique: true }),
          new TableIndex({ name: 'ix_audit_entries_target', columnNames: ['target_type', 'target_id'] }),
          new TableIndex({ name: 'ix_audit_entries_actor', columnNames: ['actor_key_id'] }),
          new TableIndex({ name: 'ix_audit_entries_at', columnNames: ['at'] }),
        ],
      }),
    );

    // One row holding the chain's head; appends lock it, so concurrent writers cannot fork the chain.
    await queryRunner.createTable(
      new Table({
        name: 'audit_head',
        columns: [
          { name: 'id', type: 'int', isPrimary: true },
          { name: 'seq', type: 'bigint', default: 0 },
          str('hash', 64),
        ],
      }),
    );
    await queryRunner.query('INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ?)', ['0'.repeat(64)]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'audit_head',
      'audit_entries',
      'invoices',
      'billing_periods',
      'usage_events',
      'usage_rollups',
      'api_keys',
      'consumers',
      'plans',
    ]) {
      await queryRunner.dropTable(table, true);
    }
  }
}
