import { Logger, Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module';
import { LimiterMetrics } from './limiter-metrics';
import { LimiterRedis } from './limiter-redis';
import { COUNTER_STORE, type CounterStore, MemoryCounterStore, RedisCounterStore } from './storage';

/**
 * The process's one counter store (Redis, shared by all instances, when configured; else in-process),
 * with the limiters' Redis connection and metrics. Imported by the throttler (its storage), the rate-limit
 * module and the failed-authentication limiter.
 */
@Module({
  imports: [RedisModule],
  providers: [
    LimiterMetrics,
    LimiterRedis,
    {
      provide: COUNTER_STORE,
      inject: [LimiterRedis, LimiterMetrics],
      useFactory: (redis: LimiterRedis, metrics: LimiterMetrics): CounterStore => {
        const memory = new MemoryCounterStore();
        if (!redis.client) return memory;
        return new RedisCounterStore(redis.client, {
          prefix: `${redis.prefix}rl:`,
          cluster: redis.cluster,
          fallback: memory,
          logger: new Logger('RateLimit'),
          onDegraded: () => metrics.degraded('rate-limit'),
          onRecovered: () => metrics.recovered('rate-limit'),
        });
      },
    },
  ],
  exports: [COUNTER_STORE, LimiterMetrics, LimiterRedis],
})
export class CounterStoreModule {}
