import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ThrottlerModule } from '@nestjs/throttler';
import type { Settings } from '../config/settings';
import { CounterStoreModule } from './counter-store.module';
import { QuotaUsageReader } from './quota/quota-usage.reader';
import { QuotaService } from './quota/quota.service';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { COUNTER_STORE, type CounterStore } from './storage';

/**
 * Rate limits and quotas: the throttler guard and the quota guard that app.module registers as the third
 * and fourth global guards, and the services that verification, /v1/me and usage events read limits and
 * quotas through.
 */
@Module({
  imports: [
    CounterStoreModule,
    // The stock module carries the default limit (its `default` throttler) and the O(1) counter store as
    // its storage; RateLimitGuard extends its guard.
    ThrottlerModule.forRootAsync({
      imports: [CounterStoreModule],
      inject: [ConfigService, COUNTER_STORE],
      useFactory: (config: ConfigService<Settings, true>, store: CounterStore) => ({
        throttlers: [
          {
            name: 'default',
            limit: config.getOrThrow('limits.defaultRate.limit', { infer: true }),
            ttl: config.getOrThrow('limits.defaultRate.windowMs', { infer: true }),
          },
        ],
        storage: store,
      }),
    }),
  ],
  providers: [RateLimitService, RateLimitGuard, QuotaUsageReader, QuotaService],
  exports: [RateLimitService, RateLimitGuard, QuotaService],
})
export class RateLimitModule {}
