import { MigrationInterface, QueryRunner, Table, TableColumnOptions, TableIndex } from 'typeorm';

/**
 * Webhooks: subscribed endpoints, the outbox of events (written in the transaction of the change that
 * caused them), one delivery per event and endpoint, and every attempt made. A delivery is claimed by
 * moving its next_attempt_at forward by a lease and stamping a claim token, so an instance that dies
 * mid-delivery leaves it to be claimed again once the lease runs out.
 */
export class Webhooks1764800000001 implements MigrationInterface {
  name = 'Webhooks1764800000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.driver.options.type === 'mysql';
    const bin: Partial<TableColumnOptions> = mysql ? { charset: 'utf8mb4', collation: 'utf8mb4_bin' } : {};
    const id = (): TableColumnOptions => ({ name: 'id', type: 'varchar', length: '40', isPrimary: true, ...bin });
    const ref = (name: string): TableColumnOptions => ({ name, type: 'varchar', length: '40', ...bin });
    const time = (name: string, nullable = false): TableColumnOptions => ({
      name,
      type: 'datetime',
      precision: mysql ? 3 : undefined,
      isNullable: nullable,
    });
    const str = (name: string, length: number, nullable = false): TableColumnOptions => ({
      name,
      type: 'varchar',
      length: String(length),
      isNullable: nullable,
    });
    const text = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'text', isNullable: nullable });
    const int = (name: string, nullable = false): TableColumnOptions => ({ name, type: 'int', isNullable: nullable });

    await queryRunner.createTable(
      new Table({
        name: 'webhook_endpoints',
        columns: [
          id(),
          str('url', 2048),
          str('description', 500, true),
          text('events'),
          { name: 'enabled', type: 'int', default: 1 },
          text('metadata'),
          { ...str('secret', 100), ...bin },
          { ...str('previous_secret', 100, true), ...bin },
          time('previous_secret_expires_at', true),
          time('failing_since', true),
          str('disabled_reason', 64, true),
          time('created_at'),
          time('updated_at'),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'webhook_events',
        columns: [
          id(),
          str('type', 64),
          // What makes a hot-path or scheduled event unique (type, subject, period/window, threshold), so
          // that several instances noticing the same crossing write one event. Null for everything else.
          { ...str('dedupe_key', 200, true), ...bin },
          { name: 'payload', type: mysql ? 'mediumtext' : 'text' },
          time('created_at'),
        ],
        indices: [new TableIndex({ name: 'uq_webhook_events_dedupe', columnNames: ['dedupe_key'], isUnique: true })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          id(),
          ref('event_id'),
          ref('endpoint_id'),
          str('event_type', 64),
          str('status', 16),
          { name: 'attempts', type: 'int', default: 0 },
          time('next_attempt_at'),
          { ...str('claim_token', 40, true), ...bin },
          int('last_status_code', true),
          time('last_attempt_at', true),
          str('last_error', 500, true),
          time('created_at'),
          time('updated_at'),
        ],
        indices: [
          new TableIndex({ name: 'idx_webhook_deliveries_due', columnNames: ['status', 'next_attempt_at'] }),
          new TableIndex({ name: 'idx_webhook_deliveries_endpoint', columnNames: ['endpoint_id', 'id'] }),
          new TableIndex({ name: 'idx_webhook_deliveries_event', columnNames: ['event_id'] }),
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'webhook_attempts',
        columns: [
          id(),
          ref('delivery_id'),
          ref('endpoint_id'),
          int('attempt'),
          time('started_at'),
          int('duration_ms'),
          int('status_code', true),
          { name: 'success', type: 'int', default: 0 },
          str('error', 500, true),
          text('response_body', true),
        ],
        indices: [new TableIndex({ name: 'idx_webhook_attempts_delivery', columnNames: ['delivery_id', 'attempt'] })],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('webhook_attempts', true);
    await queryRunner.dropTable('webhook_deliveries', true);
    await queryRunner.dropTable('webhook_events', true);
    await queryRunner.dropTable('webhook_endpoints', true);
  }
}
