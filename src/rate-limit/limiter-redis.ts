import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { type RedisClient, RedisService } from '../redis/redis.service';

/**
 * The limiters' own Redis connection (rate-limit counters and quota counters), with ioredis
 * auto-pipelining: the scripts of all requests decided in one turn of the event loop go out in one write
 * and come back in one read, instead of a write and a read per request. Under load that saves most of
 * the system calls per request; a lone request waits for nothing but the end of its turn.
 * Same URL (server or cluster) and failure options as the shared connection (no offline queue, short timeouts).
 */
@Injectable()
export class LimiterRedis implements OnApplicationShutdown {
  readonly client: RedisClient | null;
  readonly prefix: string;
  /** On a Redis Cluster, a script may only touch keys of one hash slot. */
  readonly cluster: boolean;

  constructor(redis: RedisService) {
    this.prefix = redis.prefix;
    this.cluster = redis.cluster;
    this.client = redis.enabled ? redis.connect({ connectionName: 'tollgate-limits', autoPipelining: true }) : null;
    // Connection errors are logged by the shared connection; the limiters report outages themselves.
    this.client?.on('error', () => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
