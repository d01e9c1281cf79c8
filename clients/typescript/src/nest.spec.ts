import { Controller, Get, Post, Req } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Meter, Public, RequireScopes, TollgateModule } from './nest';
import type { FakeTollgate } from './testing/fake-tollgate';
import { judgingTollgate, REFUSALS } from './testing/verdicts';
import type { TollgateContext } from './context';

@Controller('orders')
class OrdersController {
  @Get()
  @RequireScopes('orders:read')
  @Meter<{ lines: string[] }>('bytes', (result) => JSON.stringify(result).length)
  list(@Req() req: { tollgate: TollgateContext }) {
    return { lines: ['a', 'b'], key: req.tollgate.key?.id, consumer: req.tollgate.consumer?.id };
  }

  @Post()
  @RequireScopes('orders:write')
  create() {
    return {};
  }

  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }
}

describe('TollgateModule (NestJS guard, @RequireScopes, @Meter)', () => {
  let fake: FakeTollgate;
  let app: NestFastifyApplication;

  beforeEach(async () => {
    fake = await judgingTollgate();
    const moduleRef = await Test.createTestingModule({
      imports: [TollgateModule.forRoot({ baseUrl: fake.url, gatewayKey: 'g', usage: { flushIntervalMs: 60_000 } })],
      controllers: [OrdersController],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    app.enableShutdownHooks();
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterEach(async () => {
    await app.close();
    await fake.close();
  });

  const get = (url: string, key?: string, method: 'GET' | 'POST' = 'GET') =>
    app.inject({ method, url, headers: key ? { 'x-api-key': key } : {} });

  it('lets a valid key through, exposes key and consumer, and meters the response once the handler returned', async () => {
    const r = await get('/orders', 'good');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ key: 'key_1', consumer: 'cons_1' });
    expect(r.headers['ratelimit-policy']).toBe('"default";q=1000;w=60');
    await app.close();
    const events = fake.received.filter((x) => x.path === '/v1/usage/events');
    const expected = JSON.stringify({ lines: ['a', 'b'], key: 'key_1', consumer: 'cons_1' }).length;
    expect(events.map((e) => e.body.events[0])).toEqual([expect.objectContaining({ metric: 'bytes', quantity: expected })]);
    expect(events[0].headers['x-api-key']).toBe('good');
  });

  it.each(REFUSALS)('answers key $key with $status $error, the body Tollgate would send', async ({ key, status, error, ...rest }) => {
    const r = await get('/orders', key);
    expect(r.statusCode).toBe(status);
    expect(r.json()).toEqual({ error, statusCode: status, message: expect.any(String), requestId: expect.any(String), ...('retryAfter' in rest ? { retryAfter: 30 } : {}) });
    if ('retryAfter' in rest) expect(r.headers['retry-after']).toBe(rest.retryAfter);
  });

  it('sends each route scopes, refuses a missing one, and lets @Public routes through', async () => {
    const r = await get('/orders', 'good', 'POST');
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toBe('INSUFFICIENT_PERMISSIONS');
    expect(fake.received[0].body.scopes).toEqual(['orders:write']);
    expect((await get('/orders/health')).statusCode).toBe(200);
    expect(fake.received).toHaveLength(1);
  });
});
