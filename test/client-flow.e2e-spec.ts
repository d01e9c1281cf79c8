import { createTollgateClient, exportBilling, type ExportRow, type Schemas, type TollgateClient } from '../clients/typescript/src';
import { checkAgainstContract } from './support/contract';
import { TestServer } from './support/server';

/**
 * The README walkthrough, step by step, through the typed client that ships in clients/typescript: what
 * an integrator writes, without a cast. Every response is also checked against openapi.json.
 */
describe('the README flow through the typed client', () => {
  let server: TestServer;
  let admin: TollgateClient;

  /** fetch for the client that checks each response against the contract, as TestServer.request does. */
  const checkedFetch = async (input: Request): Promise<Response> => {
    const response = await fetch(input);
    const text = await response.clone().text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* CSV or NDJSON */
    }
    const url = new URL(input.url);
    await checkAgainstContract({ method: input.method, path: url.pathname + url.search, status: response.status, headers: response.headers, text, body });
    return response;
  };

  const client = (apiKey: string | (() => string | undefined)) => createTollgateClient({ baseUrl: server.url, apiKey, fetch: checkedFetch });

  beforeAll(async () => {
    server = await TestServer.start();
    admin = client(server.adminKey);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('walks consumer, key, me, revoke, verify, plan, usage events, usage, billing, close and export', async () => {
    // 1. a consumer
    const consumer = await admin.POST('/v1/admin/consumers', { body: { name: 'Acme', externalId: 'acme-42' } });
    expect(consumer.response.status).toBe(201);
    if (!consumer.data) throw new Error(`create consumer: ${JSON.stringify(consumer.error)}`);
    const consumerId: string = consumer.data.id;
    expect(consumer.data.status).toBe('active');

    // 2. a secret key for it; the plaintext is in this response only
    const created = await admin.POST('/v1/admin/consumers/{consumerId}/keys', {
      params: { path: { consumerId } },
      body: { name: 'backend', scopes: ['usage:read', 'usage:write', 'keys:read', 'billing:read'] },
    });
    if (!created.data) throw new Error(`create key: ${JSON.stringify(created.error)}`);
    const plaintext: string = created.data.key;
    expect(created.data.kind).toBe('secret');

    // 3. the consumer calls the platform
    const me = await client(plaintext).GET('/v1/me');
    if (!me.data) throw new Error(`me: ${JSON.stringify(me.error)}`);
    expect(me.data.consumer?.id).toBe(consumerId);
    const limit: number = me.data.rateLimits[0].limit;
    expect(Number.isInteger(limit)).toBe(true);

    // 4. the operator revokes the key, 5. and the next call is refused with a typed error
    const revoked = await admin.POST('/v1/admin/keys/{id}/revoke', { params: { path: { id: created.data.id } } });
    expect(revoked.data?.revokedAt).toEqual(expect.any(String));
    const refused = await client(plaintext).GET('/v1/me');
    expect(refused.response.status).toBe(401);
    const code: Schemas['ErrorResponseDto']['error'] | undefined = refused.error?.error;
    expect(code).toBe('KEY_REVOKED');

    // an upstream service verifies keys with an admin key holding keys:verify
    const verifierKey = await admin.POST('/v1/admin/admin-keys', { body: { name: 'gateway', scopes: ['keys:verify'] } });
    if (!verifierKey.data) throw new Error(`admin key: ${JSON.stringify(verifierKey.error)}`);
    const verified = await client(verifierKey.data.key).POST('/v1/keys/verify', { body: { key: plaintext, scopes: ['usage:read'] } });
    if (!verified.data) throw new Error(`verify: ${JSON.stringify(verified.error)}`);
    const verdict: Schemas['VerifyKeyResponseDto']['code'] = verified.data.code;
    expect(verdict).toBe('KEY_REVOKED');
    expect(verified.data.valid).toBe(false);
    expect(verified.data.quota).toBeNull();

    // a plan, and the consumer on it
    const plan = await admin.POST('/v1/admin/plans', {
      body: {
        name: 'Pro',
        currency: 'USD',
        baseFeeMinor: 4900,
        rateLimits: [{ name: 'per-second', limit: 20, windowSeconds: 1 }],
        quotas: [{ metric: 'requests', limit: 100000, period: 'month' }],
        prices: [
          { metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 },
          { metric: 'tokens', model: 'graduated', tiers: [{ upTo: 1000, unitPrice: '0.01' }, { upTo: null, unitPrice: '0.005' }] },
        ],
      },
    });
    if (!plan.data) throw new Error(`plan: ${JSON.stringify(plan.error)}`);
    const tokens = plan.data.prices.find((p) => p.metric === 'tokens');
    expect(tokens?.model === 'graduated' ? tokens.tiers.length : 0).toBe(2);
    const onPlan = await admin.PATCH('/v1/admin/consumers/{id}', { params: { path: { id: consumerId } }, body: { planId: plan.data.id } });
    expect(onPlan.data?.planId).toBe(plan.data.id);

    // a fresh key (the first one is revoked) reports usage, reads it and the live estimate
    const second = await admin.POST('/v1/admin/consumers/{consumerId}/keys', {
      params: { path: { consumerId } },
      body: { name: 'backend 2', scopes: ['usage:read', 'usage:write', 'billing:read'] },
    });
    if (!second.data) throw new Error(`second key: ${JSON.stringify(second.error)}`);
    const consumerClient = client(second.data.key);
    const events = await consumerClient.POST('/v1/usage/events', {
      body: { events: [{ metric: 'tokens', quantity: 1200, idempotencyKey: 'job-8812' }] },
    });
    expect(events.data?.results).toEqual([{ index: 0, idempotencyKey: 'job-8812', status: 'accepted' }]);
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    const usage = await consumerClient.GET('/v1/me/usage', { params: { query: { from, to, granularity: 'day', metric: 'tokens' } } });
    if (!usage.data) throw new Error(`usage: ${JSON.stringify(usage.error)}`);
    const total: number = usage.data.totals.reduce((sum, t) => sum + t.quantity, 0);
    expect(total).toBe(1200);
    const current = await consumerClient.GET('/v1/me/billing/current');
    if (!current.data) throw new Error(`billing: ${JSON.stringify(current.error)}`);
    const estimate: number = current.data.totalMinor;
    expect(Number.isInteger(estimate)).toBe(true);
    expect(current.data.id).toBeNull();

    // finance: list the consumer's periods, close the open one, export the month as CSV and as JSON rows
    const periods = await admin.GET('/v1/admin/billing/periods', { params: { query: { consumerId, limit: 10 } } });
    if (!periods.data) throw new Error(`periods: ${JSON.stringify(periods.error)}`);
    const open = periods.data.data.find((p) => p.status === 'open');
    if (!open) throw new Error('no open period');
    const closed = await admin.POST('/v1/admin/billing/periods/{id}/close', { params: { path: { id: open.id } } });
    if (!closed.data) throw new Error(`close: ${JSON.stringify(closed.error)}`);
    expect(closed.data.status).toBe('closed');
    const invoiceId: string | null = closed.data.invoice.id;
    expect(invoiceId).toEqual(expect.any(String));
    const month = open.start.slice(0, 7);
    const csv: string = await exportBilling(admin, { period: month, format: 'csv' });
    expect(csv.split('\r\n')[0]).toBe('consumerId,externalId,periodId,periodStart,periodEnd,metric,quantity,included,billable,unitPrice,amountMinor,currency,invoiceId,status');
    const rows: ExportRow[] = await exportBilling(admin, { period: month, format: 'json', consumerId });
    expect(rows.reduce((sum, r) => sum + r.amountMinor, 0)).toBe(closed.data.invoice.totalMinor);
  });
});
