import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { limitsConfig } from '../config/settings';
import { COUNTER_STORE, type CounterStore } from '../rate-limit/storage/counter-store';

/**
 * Counts failed authentications per client IP (the only place Tollgate limits by IP): a client that
 * keeps presenting bad keys gets 429 instead of 401 until its window ends. Valid keys are never
 * counted here, so they keep working from the same address.
 */
@Injectable()
export class AuthFailureLimiter {
  private readonly limit: number;
  private readonly windowMs: number;

  constructor(
    @Inject(COUNTER_STORE) private readonly store: CounterStore,
    @Inject(limitsConfig.KEY) limits: ConfigType<typeof limitsConfig>,
  ) {
    this.limit = limits.authFailures.limit;
    this.windowMs = limits.authFailures.windowMs;
  }

  /** Records one failure; returns seconds to wait when the address is over its limit, else null. */
  async record(ip: string): Promise<number | null> {
    const r = await this.store.increment(`authfail:${ip}`, this.windowMs, this.limit, this.windowMs, 'auth-failure');
    return r.isBlocked ? Math.max(1, r.timeToBlockExpire) : null;
  }
}
