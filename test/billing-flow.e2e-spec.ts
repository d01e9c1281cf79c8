import { sleep } from './support/fixtures';
import { TestServer } from './support/server';

/**
 * The whole path with nothing written by hand: metered requests and reported events → usage API →
 * live estimate → close → invoice → export, and usage refused for the closed period.
 */
describe('metering to invoice, end to end', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('bills exactly what was metered and reported, and exports the same totals', async () => {
    const admin = server.adminKey;
    const plan = await server.post(
      '/v1/admin/plans',
      {
        name: 'Flow',
        currency: 'USD',
        baseFeeMinor: 1000,
        prices: [
          { metric: 'requests', model: 'per_unit', unitPrice: '0.01', includedUnits: 5 },
          { metric: 'tokens', model: 'graduated', tiers: [{ upTo: 100, unitPrice: '0.001' }, { upTo: null, unitPrice: '0.0005' }] },
        ],
      },
      admin,
    );
    expect(plan.status).toBe(201);
    const consumer = await server.post('/v1/admin/consumers', { name: 'Flow Co', externalId: `flow-${Date.now()}`, planId: plan.body.id }, admin);
    const key = await server.post(
      `/v1/admin/consumers/${consumer.body.id}/keys`,
      { name: 'k', scopes: ['usage:read', 'usage:write', 'billing:read'] },
      admin,
    );
    const testKey = await server.post(
      `/v1/admin/consumers/${consumer.body.id}/keys`,
      { name: 't', environment: 'test', scopes: ['usage:write'] },
      admin,
    );
    const k = key.body.key;

    for (let i = 0; i < 11; i++) expect((await server.get('/v1/me/ping', k)).status).toBe(200);
    const events = await server.post(
      '/v1/usage/events',
      { events: [{ metric: 'tokens', quantity: 150, idempotencyKey: 'e1' }, { metric: 'tokens', quantity: 50, idempotencyKey: 'e2' }] },
      k,
    );
    expect(events.body.results.map((r: any) => r.status)).toEqual(['accepted', 'accepted']);
    // Test-environment usage is metered but never billed.
    await server.post('/v1/usage/events', { events: [{ metric: 'tokens', quantity: 999, idempotencyKey: 't1' }] }, testKey.body.key);
    await sleep(700);

    // The usage API shows both environments: 11 pings + 2 events calls, 200 + 999 tokens.
    const now = Date.now();
    const usage = await server.get(
      `/v1/me/usage?from=${new Date(now - 3600_000).toISOString()}&to=${new Date(now + 60_000).toISOString()}&granularity=hour`,
      k,
    );
    expect(usage.status).toBe(200);
    const totals = Object.fromEntries(usage.body.totals.map((t: any) => [t.metric, t.quantity]));
    expect(totals).toMatchObject({ requests: 13, tokens: 1199 });

    const periods = await server.get(`/v1/admin/billing/periods?consumerId=${consumer.body.id}`, admin);
    expect(periods.status).toBe(200);
    const period = periods.body.data.find((p: any) => p.status === 'open');
    expect(period).toBeDefined();

    const closed = await server.post(`/v1/admin/billing/periods/${period.id}/close`, {}, admin);
    expect(closed.status).toBe(200);
    const invoice = closed.body.invoice;
    const line = (metric: string) => invoice.lines.find((l: any) => l.metric === metric);
    // Live only: 11 pings and the live events call were flushed; the usage call may still be in the
    // buffer at close, and is then carried into the next period.
    const requests = line('requests');
    expect([12, 13]).toContain(requests.quantity);
    expect(requests.included).toBe(5);
    expect(requests.amountMinor).toBe(requests.quantity - 5);
    expect(line('tokens')).toMatchObject({ quantity: 200, included: 0, billable: 200, amountMinor: 15 }); // 100 × $0.001 + 100 × $0.0005
    expect(invoice.totalMinor).toBe(1000 + requests.amountMinor + 15);

    const again = await server.post(`/v1/admin/billing/periods/${period.id}/close`, {}, admin);
    expect(again.body.invoice).toEqual(invoice);

    const late = await server.post(
      '/v1/usage/events',
      { events: [{ metric: 'tokens', quantity: 5, idempotencyKey: 'late', timestamp: new Date(Date.parse(period.start) + 10).toISOString() }] },
      k,
    );
    expect(late.body.results[0]).toMatchObject({ status: 'rejected', error: { code: 'PERIOD_CLOSED' } });

    const month = period.start.slice(0, 7);
    const csv = await server.get(`/v1/admin/billing/export?period=${month}&format=csv&consumerId=${consumer.body.id}`, admin);
    expect(csv.status).toBe(200);
    const rows = csv.text.trim().split(/\r?\n/);
    expect(rows[0]).toBe(
      'consumerId,externalId,periodId,periodStart,periodEnd,metric,quantity,included,billable,unitPrice,amountMinor,currency,invoiceId,status',
    );
    const closedRows = rows.slice(1).map((r) => r.split(',')).filter((c) => c[2] === period.id);
    expect(closedRows.map((c) => c[5]).sort()).toEqual(['base_fee', 'requests', 'tokens']);
    expect(closedRows.reduce((sum, c) => sum + Number(c[10]), 0)).toBe(invoice.totalMinor);
  });
});
