import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisConfig } from '../config/settings';
import { parseRedisTarget, type RedisTarget } from './redis-target';

/** A connection to one Redis server or to a Redis Cluster: both answer the commands and scripts Tollgate sends. */
export type RedisClient = Redis | Cluster;

/** What a connection of one purpose may change from the shared defaults. */
export interface ConnectionOverrides {
  connectionName: string;
  /** Queue commands while disconnected (the subscriber, whose SUBSCRIBE must wait for the connection). */
  offlineQueue?: boolean;
  /** Send the commands of one event-loop turn in one write (the limiters). */
  autoPipelining?: boolean;
}

/**
 * The Redis connections, when REDIS_URL is set: one for commands (no offline queue and short timeouts,
 * so that a dead Redis fails fast instead of holding requests) and one for pub/sub. REDIS_URL may name a
 * Redis Cluster (`redis+cluster://host:port,host:port`): the same connections are then cluster clients,
 * and every multi-key script keeps its keys in one hash slot.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly client: RedisClient | null;
  readonly subscriber: RedisClient | null;
  readonly prefix: string;
  readonly cluster: boolean;
  private readonly target: RedisTarget | null;

  constructor(@Inject(redisConfig.KEY) redis: ConfigType<typeof redisConfig>) {
    this.prefix = redis.prefix;
    this.target = redis.url ? parseRedisTarget(redis.url) : null;
    this.cluster = this.target?.kind === 'cluster';
    if (!this.target) {
      this.client = null;
      this.subscriber = null;
      return;
    }
    this.client = this.connect({ connectionName: 'tollgate' });
    // The subscriber must queue its SUBSCRIBE until connected and re-subscribe after a reconnect.
    this.subscriber = this.connect({ connectionName: 'tollgate-sub', offlineQueue: true });
    for (const conn of [this.client, this.subscriber]) {
      conn.on('error', (err: Error) => this.logger.warn(`redis: ${err.message}`));
    }
  }

  /** A new connection to the configured Redis (server or cluster), with the fail-fast defaults. */
  connect(overrides: ConnectionOverrides): RedisClient {
    const target = this.target;
    if (!target) throw new Error('REDIS_URL is not set');
    const offlineQueue = overrides.offlineQueue ?? false;
    const node: RedisOptions = {
      enableOfflineQueue: offlineQueue,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      // Pub/sub waits for messages indefinitely; every other command gives up quickly.
      commandTimeout: offlineQueue ? undefined : 500,
      retryStrategy: (times: number) => Math.min(times * 200, 2000),
      connectionName: overrides.connectionName,
      enableAutoPipelining: overrides.autoPipelining,
    };
    if (target.kind === 'single') return new Redis(target.url, node);
    const options: ClusterOptions = {
      enableOfflineQueue: offlineQueue,
      // Never on a cluster: ioredis 5's cluster auto-pipeline can answer with fewer results than commands and
      // then throws from a nextTick callback, which ends the process. The limiter batches each tick itself.
      enableAutoPipelining: false,
      clusterRetryStrategy: (times: number) => Math.min(times * 200, 2000),
      // A moved slot or a failover is retried briefly; beyond that the caller's degraded mode takes over.
      maxRedirections: 4,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: 1000,
      slotsRefreshInterval: 5000,
      redisOptions: {
        ...node,
        username: target.username,
        password: target.password,
        tls: target.tls ? {} : undefined,
      },
    };
    return new Cluster(target.nodes, options);
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
