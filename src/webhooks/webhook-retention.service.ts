import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { webhooksConfig } from '../config/settings';
import { sqlTime } from '../database/sql';
import { Transactions } from '../database/transactions';

const BATCH = 500;
/** Batches per pass: a large backlog is worked off over several passes instead of one long stall. */
const MAX_BATCHES = 20;

/**
 * Keeps the delivery log bounded: finished deliveries (succeeded, failed, canceled) older than
 * WEBHOOK_RETENTION_DAYS go with their attempts, then events left without deliveries. Pending ones stay
 * whatever their age.
 */
@Injectable()
export class WebhookRetention {
  private readonly retentionMs: number;

  constructor(
    private readonly tx: Transactions,
    @Inject(webhooksConfig.KEY) webhooks: ConfigType<typeof webhooksConfig>,
  ) {
    this.retentionMs = webhooks.retentionMs;
  }

  async purge(now = new Date()): Promise<number> {
    const cutoff = sqlTime(new Date(now.getTime() - this.retentionMs));
    let removed = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const n = await this.tx.run(async (m) => {
        const rows: Array<{ id: string }> = await m.query(
          `SELECT id FROM webhook_deliveries WHERE status IN ('succeeded', 'failed', 'canceled') AND created_at < ? LIMIT ${BATCH}`,
          [cutoff],
        );
        if (rows.length === 0) return 0;
        const ids = rows.map((r) => r.id);
        const marks = ids.map(() => '?').join(', ');
        await m.query(`DELETE FROM webhook_attempts WHERE delivery_id IN (${marks})`, ids);
        await m.query(`DELETE FROM webhook_deliveries WHERE id IN (${marks})`, ids);
        return rows.length;
      });
      removed += n;
      if (n < BATCH) break;
    }
    await this.tx.run((m) =>
      m.query('DELETE FROM webhook_events WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)', [
        cutoff,
      ]),
    );
    return removed;
  }
}
