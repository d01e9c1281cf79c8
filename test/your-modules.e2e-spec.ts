import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { useContractDocument } from './support/contract';
import { consumerWithKey } from './support/fixtures';
import { ROOT, TestServer } from './support/server';
import { adminUsage, sumOf, waitFor } from './support/usage';

/**
 * A team's own module (test/fixtures/orders-module), compiled beside the build and mounted with
 * TOLLGATE_MODULES as docs/your-modules.md says: its routes get keys, scopes, limits, quota, metering,
 * billing and their OpenAPI entries from its decorators alone.
 */
describe('your own modules inside Tollgate', () => {
  let server: TestServer;
  let doc: any;

  beforeAll(async () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-modules.js'), 'test/fixtures/orders-module'], { cwd: ROOT });
    server = await TestServer.start({ env: { TOLLGATE_MODULES: 'dist/test/fixtures/orders-module/orders.module.js' } });
    doc = (await server.offContract('the served document itself', 'GET', '/docs-json')).body;
    // Every answer below is checked against the document this server serves, the module's operations included.
    useContractDocument(doc);
  });
  afterAll(() => server?.stop());

  async function plan(body: Record<string, unknown>): Promise<string> {
    const r = await server.post('/v1/admin/plans', { name: 'Orders plan', currency: 'USD', ...body }, server.adminKey);
    expect(r.status).toBe(201);
    return r.body.id;
  }

  it('documents the module: security, required scopes, error responses and the metered metric', () => {
    const list = doc.paths['/v1/orders'].get;
    expect(list.security).toEqual([{ 'api-key': [] }, { bearer: [] }]);
    expect(list['x-required-scopes']).toEqual(['orders:read']);
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '429', '503']));
    expect(list.responses['200'].headers).toHaveProperty('RateLimit');
    const report = doc.paths['/v1/orders/report'].get;
    expect(report['x-metered']).toEqual({ metric: 'report.bytes', cost: 'computed from the response' });
    expect(doc.paths['/v1/orders'].post['x-metered']).toEqual({ metric: 'orders', cost: 1 });
    expect(doc.components.schemas.CreateOrderDto.required).toEqual(['sku', 'quantity']);
  });

  it('needs a key of the right kind with the route scopes', async () => {
    const { plaintext: reader } = await consumerWithKey(server, { scopes: ['orders:read'] });
    expect((await server.get('/v1/orders')).body.error).toBe('MISSING_API_KEY');
    expect((await server.get('/v1/orders', 'tg_live_notakey')).status).toBe(401);
    expect((await server.get('/v1/orders', reader)).status).toBe(200);
    const denied = await server.post('/v1/orders', { sku: 'a', quantity: 1 }, reader);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    const admin = await server.get('/v1/orders', server.adminKey);
    expect(admin.status).toBe(403);
    const invalid = await server.post('/v1/orders', { sku: 'a', quantity: 0 }, (await consumerWithKey(server, { scopes: ['orders:write'] })).plaintext);
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe('VALIDATION_FAILED');
  });

  it('applies the key rate limits with their headers', async () => {
    const { plaintext } = await consumerWithKey(server, { scopes: ['orders:read'], rateLimits: [{ name: 'burst', limit: 2, windowSeconds: 60 }] });
    const first = await server.get('/v1/orders', plaintext);
    expect(first.headers.get('ratelimit-policy')).toContain('"burst";q=2;w=60');
    await server.get('/v1/orders', plaintext);
    const third = await server.get('/v1/orders', plaintext);
    expect(third.status).toBe(429);
    expect(third.body.error).toBe('RATE_LIMIT_EXCEEDED');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('meters what the handler returned, counts it against the quota on its metric and bills it', async () => {
    const planId = await plan({
      quotas: [{ metric: 'report.bytes', limit: 600, period: 'month' }],
      prices: [{ metric: 'report.bytes', model: 'per_unit', unitPrice: '0.01' }],
    });
    const { consumer, plaintext } = await consumerWithKey(server, { scopes: ['orders:read', 'billing:read'] }, { planId });
    const small = await server.get('/v1/orders/report?lines=5', plaintext);
    expect(small.status).toBe(200);
    const smallBytes = Buffer.byteLength(JSON.stringify(small.body));
    // Crosses the quota: served and metered in full; the next call is refused until the period ends.
    const big = await server.get('/v1/orders/report?lines=100', plaintext);
    expect(big.status).toBe(200);
    const bigBytes = Buffer.byteLength(JSON.stringify(big.body));
    expect(smallBytes + bigBytes).toBeGreaterThan(600);
    const refused = await server.get('/v1/orders/report?lines=1', plaintext);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('QUOTA_EXCEEDED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other routes of the key are not under that quota.
    expect((await server.get('/v1/orders', plaintext)).status).toBe(200);

    const usage = await waitFor(
      () => adminUsage(server, consumer.id),
      (r) => sumOf(r, 'report.bytes') === smallBytes + bigBytes,
    );
    // Every admitted call counts one request besides what it meters; the refused one counts neither.
    expect(sumOf(usage, 'requests')).toBe(3);
    const bill = await server.get('/v1/me/billing/current', plaintext);
    expect(bill.status).toBe(200);
    const line = bill.body.lines.find((l: { metric: string }) => l.metric === 'report.bytes');
    expect(line).toMatchObject({ quantity: smallBytes + bigBytes, amountMinor: smallBytes + bigBytes });
  });

  it('takes a fixed cost before the handler, as verify does', async () => {
    const planId = await plan({ quotas: [{ metric: 'orders', limit: 2, period: 'month' }] });
    const { consumer, plaintext } = await consumerWithKey(server, { scopes: ['orders:write'] }, { planId });
    for (let i = 0; i < 2; i++) expect((await server.post('/v1/orders', { sku: 'sku-1', quantity: 1 }, plaintext)).status).toBe(201);
    const refused = await server.post('/v1/orders', { sku: 'sku-1', quantity: 1 }, plaintext);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('QUOTA_EXCEEDED');
    await waitFor(
      () => adminUsage(server, consumer.id),
      (r) => sumOf(r, 'orders') === 2,
    );
  });
});
