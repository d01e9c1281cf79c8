import { Global, Logger, Module } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';
import { COUNTER_STORE, MemoryCounterStore, RedisCounterStore } from './storage';

/** One counter store for the process: Redis (shared by all instances) when configured, else in-process. */
@Global()
@Module({
  providers: [
    {
      provide: COUNTER_STORE,
      inject: [RedisService],
      useFactory: (redis: RedisService) => {
        const memory = new MemoryCounterStore();
        if (!redis.client) return memory;
        return new RedisCounterStore(redis.client, { prefix: `${redis.prefix}rl:`, fallback: memory, logger: new Logger('RateLimit') });
      },
    },
  ],
  exports: [COUNTER_STORE],
})
export class RateLimitModule {}
