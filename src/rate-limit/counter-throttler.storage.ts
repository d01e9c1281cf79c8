import type { ThrottlerStorage } from '@nestjs/throttler';
import type { CounterStore } from './storage';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * @nestjs/throttler's storage interface over our O(1) counters, so that the stock guard path (a route
 * using the stock ThrottlerGuard with @Throttle) gets the same storage as everything else: a fixed window
 * from the first hit, shared through Redis when configured.
 *
 * `blockDuration` is not supported: a refused key stays refused until its window ends, which is what
 * the stock storage does with the default blockDuration (= ttl).
 */
export class CounterThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: CounterStore) {}

  async increment(key: string, ttl: number, limit: number, _blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const [r] = await this.store.hit([
      { key: `t:${throttlerName}:${key}`, limit: Math.floor(limit), windowMs: Math.max(1, Math.ceil(ttl)), cost: 1 },
    ]);
    const timeToExpire = Math.ceil(r.resetMs / 1000);
    return { totalHits: r.used, timeToExpire, isBlocked: !r.allowed, timeToBlockExpire: r.allowed ? 0 : timeToExpire };
  }
}
