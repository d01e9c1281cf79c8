import type { AddressInfo } from 'node:net';
import express from 'express';
import { tollgateExpress } from './express';
import type { FakeTollgate } from './testing/fake-tollgate';
import { judgingTollgate, REFUSALS } from './testing/verdicts';
import { createUsageReporter } from './usage-reporter';
import { createVerifier } from './verifier';

describe('tollgateExpress', () => {
  let fake: FakeTollgate;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    fake = await judgingTollgate();
    const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'g' });
    const reporter = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 60_000 });
    const protect = tollgateExpress({ verifier, reporter });
    const app = express();
    app.get('/orders', protect({ scopes: ['orders:read'] }), (req, res) => {
      req.tollgate!.report('bytes', 7);
      res.json({ key: req.tollgate!.key, consumer: req.tollgate!.consumer });
    });
    app.post('/orders', protect({ scopes: ['orders:write'] }), (_req, res) => res.status(201).json({}));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
      await reporter.close();
      await verifier.close();
    };
  });
  afterAll(async () => {
    await close();
    await fake.close();
  });

  it('lets a valid key through with the key, the consumer and the rate-limit headers, and reports usage with the presented key', async () => {
    const r = await fetch(`${url}/orders`, { headers: { authorization: 'Bearer good' } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ key: { id: 'key_1', scopes: ['orders:read'], expiresAt: null, kind: 'secret', environment: 'live' }, consumer: { id: 'cons_1' } });
    expect(r.headers.get('ratelimit-policy')).toBe('"default";q=1000;w=60');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('999');
    await close();
    const events = fake.received.filter((x) => x.path === '/v1/usage/events');
    expect(events).toHaveLength(1);
    expect(events[0].headers['x-api-key']).toBe('good');
    expect(events[0].body.events[0]).toMatchObject({ metric: 'bytes', quantity: 7 });
  });
});

describe('tollgateExpress refusals', () => {
  let fake: FakeTollgate;
  let url: string;
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  const verifierOf = () => createVerifier({ baseUrl: fake.url, gatewayKey: 'g' });
  let verifier: ReturnType<typeof verifierOf>;

  beforeAll(async () => {
    fake = await judgingTollgate();
    verifier = verifierOf();
    const protect = tollgateExpress({ verifier });
    const app = express();
    app.get('/orders', protect({ scopes: ['orders:read'] }), (_req, res) => res.json({}));
    app.post('/orders', protect({ scopes: ['orders:write'] }), (_req, res) => res.status(201).json({}));
    server = app.listen(0, '127.0.0.1');
    await new Promise((ok) => server.once('listening', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
    await verifier.close();
    await fake.close();
  });

  it.each(REFUSALS)('answers key $key with $status $error in the error shape', async ({ key, status, error, ...rest }) => {
    const r = await fetch(`${url}/orders`, { headers: key ? { 'x-api-key': key } : {} });
    expect(r.status).toBe(status);
    expect(await r.json()).toMatchObject({ error, statusCode: status, message: expect.any(String), requestId: expect.any(String) });
    if ('retryAfter' in rest) expect(r.headers.get('retry-after')).toBe(rest.retryAfter);
  });

  it('refuses a key without the route scope with 403', async () => {
    const r = await fetch(`${url}/orders`, { method: 'POST', headers: { 'x-api-key': 'good' } });
    expect(r.status).toBe(403);
    expect((await r.json()).error).toBe('INSUFFICIENT_PERMISSIONS');
  });
});
