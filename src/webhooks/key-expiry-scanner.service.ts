import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { webhooksConfig } from '../config/settings';
import { sqlTime, toDate } from '../database/sql';
import { WebhookAlerts } from './webhook-alerts.service';
import { WebhookRetention } from './webhook-retention.service';
import { keySummary } from './webhook-outbox.service';

const DAY_MS = 86_400_000;
const PAGE = 1000;

/**
 * Sends key.expiring 7 days and 1 day before a key's expiresAt. Every instance scans; each notice has a
 * dedupe key (key, its expiresAt, which notice), so it is written once whatever the number of instances
 * and scans, and a changed expiry is announced again. A key in a rotation's grace period is left out:
 * its successor already exists.
 */
@Injectable()
export class KeyExpiryScanner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly alerts: WebhookAlerts,
    private readonly retention: WebhookRetention,
    @Inject(webhooksConfig.KEY) webhooks: ConfigType<typeof webhooksConfig>,
  ) {
    this.intervalMs = webhooks.expiryScanIntervalMs;
  }

  onApplicationBootstrap(): void {
    this.schedule(Math.min(this.intervalMs, 5000));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      // The same periodic pass keeps the delivery log within its retention.
      this.running = this.scan()
        .then(() => this.retention.purge())
        .then(() => undefined)
        .catch((err: Error) => this.logger.warn(`webhook housekeeping failed, retrying next time: ${err.message}`))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, ms);
    this.timer.unref();
  }

  async scan(now = new Date()): Promise<number> {
    let after = '';
    let queued = 0;
    for (;;) {
      const rows: Array<Record<string, unknown>> = await this.dataSource.query(
        `SELECT k.id, k.kind, k.consumer_id, k.name, k.environment, k.start, k.scopes, k.expires_at, k.revoked_at, k.created_at
           FROM api_keys k
          WHERE k.revoked_at IS NULL AND k.expires_at > ? AND k.expires_at <= ? AND k.id > ?
            AND NOT EXISTS (SELECT 1 FROM api_keys s WHERE s.rotated_from_id = k.id)
          ORDER BY k.id LIMIT ${PAGE}`,
        [sqlTime(now), sqlTime(new Date(now.getTime() + 7 * DAY_MS)), after],
      );
      for (const r of rows) {
        const expiresAt = toDate(r.expires_at);
        const within = expiresAt.getTime() - now.getTime() <= DAY_MS ? '1d' : '7d';
        this.alerts.notify(
          {
            type: 'key.expiring',
            dedupeKey: `key.expiring:${String(r.id)}:${expiresAt.getTime()}:${within}`,
            data: { key: keySummary(r), within },
          },
          expiresAt.getTime(),
        );
        queued++;
      }
      if (rows.length < PAGE) return queued;
      after = String(rows[rows.length - 1].id);
    }
  }
}
