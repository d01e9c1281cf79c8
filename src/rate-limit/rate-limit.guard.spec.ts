import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import { adminKey, consumerKey } from '../../test/support/auth-keys';
import { limiterMetrics } from '../../test/support/limiter-metrics';
import { AppException } from '../common/app.exception';
import { RateLimitGuard, readRouteLimits } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { MemoryCounterStore } from './storage';

class Routes {
  plain(): void {}
  @SkipThrottle()
  skipped(): void {}
  @Throttle({ default: { limit: 1, ttl: 10_000 } })
  strict(): void {}
  @Throttle({ login: { limit: 1, ttl: 60_000 } })
  added(): void {}
}

async function guard(): Promise<{ g: RateLimitGuard; store: MemoryCounterStore }> {
  const store = new MemoryCounterStore();
  const options = { throttlers: [{ name: 'default', limit: 2, ttl: 60_000 }], storage: store };
  const limits = new RateLimitService(store, limiterMetrics().limiter, options);
  const g = new RateLimitGuard(options, store, new Reflector(), limits);
  await g.onModuleInit();
  return { g, store };
}

function context(request: object, handler: keyof Routes = 'plain'): { ctx: ExecutionContext; headers: Record<string, unknown> } {
  const headers: Record<string, unknown> = {};
  const reply = { header: (name: string, value: unknown) => (headers[name] = value) };
  const args = [request, reply];
  const ctx = {
    getArgByIndex: (i: number) => args[i],
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
  } as unknown as ExecutionContext;
  return { ctx, headers };
}

async function refusal(p: Promise<boolean>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('RateLimitGuard', () => {
  it('lets public routes (no auth) through at once, without headers', async () => {
    const { g } = await guard();
    const { ctx, headers } = context({});
    expect(g.canActivate(ctx)).toBe(true);
    expect(headers).toEqual({});
  });

  it('goes through handleRequest once per limit, sets the headers, and throws the 429 when refused', async () => {
    const { g } = await guard();
    const handle = jest.spyOn(g as unknown as { handleRequest: () => Promise<boolean> }, 'handleRequest');
    const request = { auth: { key: consumerKey({ keyLimits: [{ name: 'burst', limit: 10, windowSeconds: 1 }] }), ip: '127.0.0.1' } };
    const first = context(request);
    expect(await g.canActivate(first.ctx)).toBe(true);
    expect(handle).toHaveBeenCalledTimes(2);
    expect(first.headers).toMatchObject({ 'RateLimit-Policy': '"default";q=2;w=60, "burst";q=10;w=1', 'X-RateLimit-Remaining': 1 });
    expect(await g.canActivate(context(request).ctx)).toBe(true);
    const third = context(request);
    const thrown = await refusal(g.canActivate(third.ctx));
    expect(thrown).toBeInstanceOf(AppException);
    expect(thrown).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', extra: { retryAfter: 60 } });
    expect(third.headers).toMatchObject({ RateLimit: '"default";r=0;t=60, "burst";r=7;t=1', 'X-RateLimit-Remaining': 0 });
  });

  it('skips the default limit on a @SkipThrottle() route, but not a limit the key was given', async () => {
    const { g } = await guard();
    const bare = { auth: { key: adminKey({ id: 'key_gw' }), ip: '127.0.0.1' } };
    for (let i = 0; i < 5; i++) {
      const c = context(bare, 'skipped');
      expect(await g.canActivate(c.ctx)).toBe(true);
      expect(c.headers).toEqual({});
    }
    const limited = { auth: { key: adminKey({ id: 'key_own', keyLimits: [{ name: 'default', limit: 1, windowSeconds: 60 }] }), ip: '127.0.0.1' } };
    expect(await g.canActivate(context(limited, 'skipped').ctx)).toBe(true);
    expect(await refusal(g.canActivate(context(limited, 'skipped').ctx))).toBeInstanceOf(AppException);
  });

  it("applies a route's @Throttle() on a counter of that route's own, and adds limits it names", async () => {
    const { g } = await guard();
    const request = { auth: { key: consumerKey(), ip: '127.0.0.1' } };
    const strict = context(request, 'strict');
    expect(await g.canActivate(strict.ctx)).toBe(true);
    expect(strict.headers).toMatchObject({ 'RateLimit-Policy': '"default";q=1;w=10' });
    expect(await refusal(g.canActivate(context(request, 'strict').ctx))).toBeInstanceOf(AppException);
    // The shared counter of the other routes was not spent by the strict route.
    const plain = context(request);
    expect(await g.canActivate(plain.ctx)).toBe(true);
    expect(plain.headers).toMatchObject({ RateLimit: '"default";r=1;t=60' });
    const added = context(request, 'added');
    expect(await g.canActivate(added.ctx)).toBe(true);
    expect(added.headers).toMatchObject({ 'RateLimit-Policy': '"default";q=2;w=60, "login";q=1;w=60' });
  });

  it('reads route declarations from the decorators', () => {
    expect(readRouteLimits(Routes, Routes.prototype.plain)).toBeNull();
    expect(readRouteLimits(Routes, Routes.prototype.skipped)).toMatchObject({ id: 'Routes.skipped', skip: new Set(['default']) });
    expect(readRouteLimits(Routes, Routes.prototype.strict)?.overrides).toEqual([{ name: 'default', limit: 1, ttl: 10_000 }]);
  });
});
