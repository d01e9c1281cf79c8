import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { redisConfig } from '../config/settings';

/**
 * The Redis connections, when REDIS_URL is set: one for commands (no offline queue and short timeouts,
 * so that a dead Redis fails fast instead of holding requests) and one for pub/sub.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: Redis | null;
  readonly subscriber: Redis | null;
  readonly prefix: string;

  constructor(@Inject(redisConfig.KEY) redis: ConfigType<typeof redisConfig>) {
    const url = redis.url;
    this.prefix = redis.prefix;
    if (!url) {
      this.client = null;
      this.subscriber = null;
      return;
    }
    const common = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 500,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
    };
    this.client = new Redis(url, { ...common, connectionName: 'tollgate' });
    // The subscriber must queue its SUBSCRIBE until connected and re-subscribe after a reconnect.
    this.subscriber = new Redis(url, { ...common, enableOfflineQueue: true, commandTimeout: undefined, connectionName: 'tollgate-sub' });
    for (const conn of [this.client, this.subscriber]) {
      conn.on('error', (err: Error) => this.logger.warn(`redis: ${err.message}`));
    }
  }

  get enabled(): boolean {
    return this.client !== null;
  }

  get ready(): boolean {
    return this.client?.status === 'ready';
  }

  async ping(): Promise<boolean> {
    if (!this.client) return false;
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const conn of [this.client, this.subscriber]) {
      if (!conn) continue;
      try {
        await conn.quit();
      } catch {
        conn.disconnect();
      }
    }
  }
}
