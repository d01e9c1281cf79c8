import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The origins named by any active publishable key, so that CORS preflights (which carry no key) can be
 * answered. Reloaded after local key changes and every few seconds for changes made on other instances.
 */
@Injectable()
export class OriginRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(OriginRegistry.name);
  private origins = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload(), 10_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  has(origin: string): boolean {
    return this.origins.has(origin);
  }

  async reload(): Promise<void> {
    try {
      const rows: { allowed_origins: string }[] = await this.dataSource.query(
        "SELECT allowed_origins FROM api_keys WHERE kind = 'publishable' AND revoked_at IS NULL",
      );
      const next = new Set<string>();
      for (const r of rows) for (const o of JSON.parse(r.allowed_origins) as string[]) next.add(o);
      this.origins = next;
    } catch (err) {
      this.logger.warn(`could not reload allowed origins: ${(err as Error).message}`);
    }
  }
}
