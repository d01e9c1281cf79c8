import Fastify, { type FastifyInstance } from 'fastify';
import { tollgateFastify } from './fastify';
import type { FakeTollgate } from './testing/fake-tollgate';
import { judgingTollgate, REFUSALS } from './testing/verdicts';
import { createUsageReporter } from './usage-reporter';
import { createVerifier } from './verifier';

describe('tollgateFastify', () => {
  let fake: FakeTollgate;
  let app: FastifyInstance;

  beforeEach(async () => {
    fake = await judgingTollgate();
    const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'g' });
    const reporter = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 60_000 });
    app = Fastify();
    await app.register(tollgateFastify, { verifier, reporter });
    app.get('/orders', { config: { tollgate: { scopes: ['orders:read'] } } }, async (request) => {
      request.tollgate!.report('bytes', 9);
      return { key: request.tollgate!.key?.id, consumer: request.tollgate!.consumer };
    });
    app.post('/orders', { config: { tollgate: { scopes: ['orders:write'] } } }, async () => ({}));
    app.get('/health', async () => ({ ok: true }));
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
    await fake.close();
  });

  it('lets a valid key through with key, consumer and headers; flushes reported usage on close', async () => {
    const r = await app.inject({ method: 'GET', url: '/orders', headers: { 'x-api-key': 'good' } });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ key: 'key_1', consumer: { id: 'cons_1' } });
    expect(r.headers['ratelimit']).toBe('"default";r=999;t=42');
    expect(r.headers['x-ratelimit-limit']).toBe('1000');
    await app.close();
    const events = fake.received.filter((x) => x.path === '/v1/usage/events');
    expect(events.map((e) => e.body.events[0])).toEqual([expect.objectContaining({ metric: 'bytes', quantity: 9 })]);
  });

  it.each(REFUSALS)('answers key $key with $status $error in the error shape', async ({ key, status, error, ...rest }) => {
    const r = await app.inject({ method: 'GET', url: '/orders', headers: key ? { 'x-api-key': key } : {} });
    expect(r.statusCode).toBe(status);
    expect(r.json()).toMatchObject({ error, statusCode: status, requestId: expect.any(String) });
    if ('retryAfter' in rest) expect(r.headers['retry-after']).toBe(rest.retryAfter);
  });

  it('refuses a missing scope, and leaves routes without a requirement alone', async () => {
    const r = await app.inject({ method: 'POST', url: '/orders', headers: { 'x-api-key': 'good' } });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(fake.received.filter((x) => x.path === '/v1/keys/verify')).toHaveLength(1);
  });
});
