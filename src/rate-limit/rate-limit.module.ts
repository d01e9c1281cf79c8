import { Global, Logger, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import type { EnvironmentVariables } from '../config/env.validation';
import { LimiterMetrics } from './limiter-metrics';
import { LimiterRedis } from './limiter-redis';
import { QuotaUsageReader } from './quota/quota-usage.reader';
import { QuotaGuard } from './quota/quota.guard';
import { QuotaService } from './quota/quota.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { COUNTER_STORE, type CounterStore, MemoryCounterStore, RedisCounterStore } from './storage';

/**
 * Rate limits and quotas: one counter store for the process (Redis, shared by all instances, when
 * configured, else in-process), the throttler guard and the quota guard that app.module registers as the
 * third and fourth global guards, and the services that verification and /v1/me read limits through.
 */
@Global()
@Module({
  imports: [
    // The stock module carries the default limit (its `default` throttler) and the O(1) counter store as
    // its storage; RateLimitGuard extends its guard.
    ThrottlerModule.forRootAsync({
      inject: [ConfigService, COUNTER_STORE],
      useFactory: (config: ConfigService<EnvironmentVariables, true>, store: CounterStore) => ({
        throttlers: [
          {
            name: 'default',
            limit: config.get('DEFAULT_RATE_LIMIT', { infer: true }),
            ttl: config.get('DEFAULT_RATE_LIMIT_WINDOW_SECONDS', { infer: true }) * 1000,
          },
        ],
        storage: store,
      }),
    }),
  ],
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
          fallback: memory,
          logger: new Logger('RateLimit'),
          onDegraded: () => metrics.degraded('rate-limit'),
          onRecovered: () => metrics.recovered('rate-limit'),
        });
      },
    },
    RateLimitService,
    RateLimitGuard,
    QuotaUsageReader,
    QuotaService,
    QuotaGuard,
  ],
  exports: [COUNTER_STORE, LimiterMetrics, RateLimitService, RateLimitGuard, QuotaService, QuotaGuard],
})
export class RateLimitModule {}
