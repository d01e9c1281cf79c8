import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { usageConfig } from '../config/settings';
import { sqlTime, toNumber } from '../database/sql';

const DAY = 86_400_000;
const CHUNK = 5000;
/** Flush ids only need to outlive the retries of their batch (seconds to minutes). */
const FLUSH_ID_DAYS = 2;
const FIRST_RUN_MS = 60_000;
const RETRY_MS = 3_600_000;

/**
 * Deletes reported events once their idempotency keys need not be remembered: after
 * max(35, USAGE_BACKFILL_DAYS + 1) days. Past that age a resent event is outside the backfill window
 * and rejected anyway, so it can never be counted twice. Runs daily on every instance (deletes are
 * idempotent), in small chunks so that no long lock is held.
 */
@Injectable()
export class UsageRetentionService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('UsageRetention');
  private readonly keepDays: number;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(usageConfig.KEY) usage: ConfigType<typeof usageConfig>,
  ) {
    this.keepDays = Math.max(35, usage.backfillDays + 1);
  }

  onModuleInit(): void {
    this.schedule(FIRST_RUN_MS + Math.random() * FIRST_RUN_MS);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Returns how many events were deleted. */
  async run(now = Date.now()): Promise<number> {
    const events = await this.deleteOlder('usage_events', 'seq', now - this.keepDays * DAY);
    await this.deleteOlder('usage_flushes', 'id', now - FLUSH_ID_DAYS * DAY);
    return events;
  }

  private async deleteOlder(table: string, idColumn: string, before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: Record<string, unknown>[] = await this.dataSource.query(
        `SELECT ${idColumn} AS id FROM ${table} WHERE created_at < ? ORDER BY created_at LIMIT ${CHUNK}`,
        [sqlTime(new Date(before))],
      );
      if (!rows.length) return total;
      const ids = rows.map((r) => (idColumn === 'seq' ? toNumber(r.id) : String(r.id)));
      await this.dataSource.query(`DELETE FROM ${table} WHERE ${idColumn} IN (${ids.map(() => '?').join(', ')})`, ids);
      total += ids.length;
      if (rows.length < CHUNK) return total;
    }
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      const deleted = await this.run();
      if (deleted) this.logger.log(`deleted ${deleted} usage events older than ${this.keepDays} days`);
      this.schedule(DAY);
    } catch (err) {
      this.logger.warn(`usage event cleanup failed, retrying in an hour: ${(err as Error)?.message}`);
      this.schedule(RETRY_MS);
    }
  }
}
