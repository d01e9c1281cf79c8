import { CanActivate, Controller, ExecutionContext, Get, Injectable, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SkipThrottle, Throttle, ThrottlerModule } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { consumerKey } from '../../test/support/auth-keys';
import { limiterMetrics } from '../../test/support/limiter-metrics';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { LimiterMetrics } from './limiter-metrics';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitService } from './rate-limit.service';
import { COUNTER_STORE, MemoryCounterStore } from './storage';

/**
 * The stock @nestjs/throttler decorators on real routes, through Nest's own guard path on Fastify, as a
 * developer adding a route would use them: the product's routes use only @SkipThrottle (verify), so the
 * rest is shown here on routes of this spec. The default limit is 3 per minute.
 */

/** Stands in for ApiKeyGuard: the key is named by a header; every key belongs to consumer cons_1. */
@Injectable()
class HeaderKeyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.getArgByIndex<FastifyRequest>(0);
    const id = request.headers['x-key'];
    if (typeof id === 'string') request.auth = { key: consumerKey({ id }), ip: '127.0.0.1' };
    return true;
  }
}

@Controller()
class LimitedController {
  @Get('plain')
  plain(): object {
    return { ok: true };
  }

  @Get('skipped')
  @SkipThrottle()
  skipped(): object {
    return { ok: true };
  }

  @Get('strict')
  @Throttle({ default: { limit: 1, ttl: 10_000 } })
  strict(): object {
    return { ok: true };
  }

  @Get('login')
  @Throttle({ login: { limit: 2, ttl: 60_000 } })
  login(): object {
    return { ok: true };
  }
}

@Controller('quiet')
@SkipThrottle()
class QuietController {
  @Get()
  quiet(): object {
    return { ok: true };
  }

  @Get('loud')
  @SkipThrottle({ default: false })
  loud(): object {
    return { ok: true };
  }
}

describe('@SkipThrottle and @Throttle on routes, over HTTP', () => {
  let app: NestFastifyApplication;

  beforeEach(async () => {
    const store = new MemoryCounterStore();
    @Module({
      imports: [ThrottlerModule.forRoot({ throttlers: [{ name: 'default', limit: 3, ttl: 60_000 }], storage: store })],
      controllers: [LimitedController, QuietController],
      providers: [
        { provide: COUNTER_STORE, useValue: store },
        { provide: LimiterMetrics, useValue: limiterMetrics().limiter },
        RateLimitService,
        RateLimitGuard,
        HeaderKeyGuard,
        { provide: APP_GUARD, useExisting: HeaderKeyGuard },
        { provide: APP_GUARD, useExisting: RateLimitGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    })
    class TestModule {}
    app = await NestFactory.create<NestFastifyApplication>(TestModule, new FastifyAdapter(), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterEach(() => app.close());

  const get = async (url: string, key = 'key_1') => {
    const r = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url, headers: { 'x-key': key } });
    return { status: r.statusCode, headers: r.headers, body: r.json() as Record<string, unknown> };
  };
  const statuses = async (url: string, n: number, key?: string) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await get(url, key)).status);
    return out;
  };

  it('applies the default limit to a plain route, one counter for the consumer across routes, with a 429 in the error shape', async () => {
    expect(await statuses('/plain', 2)).toEqual([200, 200]);
    expect((await get('/plain', 'key_2')).headers['ratelimit-policy']).toBe('"default";q=3;w=60');
    const refused = await get('/plain');
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('RATE_LIMIT_EXCEEDED');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('@SkipThrottle() exempts a route: no counting, no headers', async () => {
    expect(await statuses('/skipped', 6)).toEqual([200, 200, 200, 200, 200, 200]);
    const r = await get('/skipped');
    expect(r.headers.ratelimit).toBeUndefined();
    // ...and spends nothing from the limit of the other routes.
    expect(await statuses('/plain', 3)).toEqual([200, 200, 200]);
  });

  it('@Throttle() on a limit the key has changes it on that route, on a counter of the route', async () => {
    const first = await get('/strict');
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"default";q=1;w=10');
    expect((await get('/strict')).status).toBe(429);
    // The route's own counter: the plain routes still have their 3.
    expect(await statuses('/plain', 3)).toEqual([200, 200, 200]);
  });

  it('@Throttle() naming a limit the key does not have adds it on that route', async () => {
    const first = await get('/login');
    expect(first.headers['ratelimit-policy']).toBe('"default";q=3;w=60, "login";q=2;w=60');
    expect((await get('/login')).status).toBe(200);
    const third = await get('/login');
    expect(third.status).toBe(429);
    expect(String(third.body.message)).toContain('"login"');
  });

  it('@SkipThrottle() on a controller covers its routes; a route may opt back in', async () => {
    expect(await statuses('/quiet', 5)).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses('/quiet/loud', 4)).toEqual([200, 200, 200, 429]);
  });
});
