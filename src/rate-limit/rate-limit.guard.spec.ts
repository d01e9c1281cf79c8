import type { ExecutionContext } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { AppException } from '../common/app.exception';
import type { EnvironmentVariables } from '../config/env.validation';
import { CounterThrottlerStorage } from './counter-throttler.storage';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { MemoryCounterStore } from './storage';
import { consumerKey } from './testing/auth-keys';
import { limiterMetrics } from './testing/metrics';

function guard(): RateLimitGuard {
  const store = new MemoryCounterStore();
  const config = { get: (name: string) => ({ DEFAULT_RATE_LIMIT: 2, DEFAULT_RATE_LIMIT_WINDOW_SECONDS: 60 })[name] };
  const limits = new RateLimitService(store, limiterMetrics().limiter, config as unknown as ConfigService<EnvironmentVariables, true>);
  return new RateLimitGuard({ throttlers: [] }, new CounterThrottlerStorage(store), new Reflector(), limits);
}

function context(request: object): { ctx: ExecutionContext; headers: Record<string, unknown> } {
  const headers: Record<string, unknown> = {};
  const reply = { header: (name: string, value: unknown) => (headers[name] = value) };
  const args = [request, reply];
  return { ctx: { getArgByIndex: (i: number) => args[i] } as unknown as ExecutionContext, headers };
}

describe('RateLimitGuard', () => {
  it('lets public routes (no auth) through at once, without headers', () => {
    const { ctx, headers } = context({});
    expect(guard().canActivate(ctx)).toBe(true);
    expect(headers).toEqual({});
  });

  it('decides synchronously on the in-process store, sets the headers, and throws the 429 when refused', () => {
    const g = guard();
    const request = { auth: { key: consumerKey(), ip: '127.0.0.1' } };
    const first = context(request);
    expect(g.canActivate(first.ctx)).toBe(true);
    expect(first.headers).toMatchObject({ 'RateLimit-Policy': '"default";q=2;w=60', 'X-RateLimit-Remaining': 1 });
    expect(g.canActivate(context(request).ctx)).toBe(true);
    const third = context(request);
    let thrown: unknown;
    try {
      g.canActivate(third.ctx);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppException);
    expect(thrown).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', extra: { retryAfter: 60 } });
    expect(third.headers).toMatchObject({ RateLimit: '"default";r=0;t=60', 'X-RateLimit-Remaining': 0 });
  });
});
