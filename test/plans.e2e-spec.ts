import { adminKeyWith, consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';
import { UsageStore } from './support/usage-store';

// jest reads testTimeout from the root config only, not from a project's: these suites start servers.
jest.setTimeout(60_000);

const PRO = {
  name: 'Pro',
  currency: 'USD',
  baseFeeMinor: 4900,
  rateLimits: [{ name: 'per-minute', limit: 600, windowSeconds: 60 }],
  quotas: [{ metric: 'requests', limit: 1_000_000, period: 'month' }],
  prices: [
    { metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 },
    { metric: 'sms', model: 'package', packageSize: 1000, packagePrice: '5.00', includedUnits: 500 },
    {
      metric: 'tokens',
      model: 'graduated',
      tiers: [
        { upTo: 1000, unitPrice: '0.01' },
        { upTo: 5000, unitPrice: '0.008', flatFee: '2.00' },
        { upTo: null, unitPrice: '0.005' },
      ],
    },
    { metric: 'seats', model: 'volume', tiers: [{ upTo: 10, unitPrice: '5' }, { upTo: null, unitPrice: '4' }] },
  ],
  metadata: { public: true },
};

function fields(body: { details?: { field: string }[] }): string[] {
  return (body.details ?? []).map((d) => d.field).sort();
}

describe('plans admin API', () => {
  let server: TestServer;
  let store: UsageStore;

  beforeAll(async () => {
    server = await TestServer.start();
    store = await UsageStore.open(server);
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  it('creates, reads, lists, changes and deletes a plan, auditing every change', async () => {
    const created = await server.post('/v1/admin/plans', PRO, server.adminKey);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...PRO, id: expect.stringMatching(/^plan_/) });
    expect(created.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const id = created.body.id;

    const got = await server.get(`/v1/admin/plans/${id}`, server.adminKey);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const second = await server.post('/v1/admin/plans', { name: 'Free', currency: 'EUR' }, server.adminKey);
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ baseFeeMinor: 0, rateLimits: [], quotas: [], prices: [], metadata: {} });

    const page1 = await server.get('/v1/admin/plans?limit=1', server.adminKey);
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((p: { id: string }) => p.id)).toEqual([second.body.id]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await server.get(`/v1/admin/plans?limit=1&cursor=${page1.body.nextCursor}`, server.adminKey);
    expect(page2.body.data.map((p: { id: string }) => p.id)).toEqual([id]);
    const eur = await server.get('/v1/admin/plans?currency=EUR', server.adminKey);
    expect(eur.body.data.map((p: { id: string }) => p.id)).toEqual([second.body.id]);

    const patched = await server.patch(`/v1/admin/plans/${id}`, { name: 'Pro 2', baseFeeMinor: 5900 }, server.adminKey);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Pro 2', baseFeeMinor: 5900, prices: PRO.prices, currency: 'USD' });

    const deleted = await server.request('DELETE', `/v1/admin/plans/${second.body.id}`, { key: server.adminKey });
    expect(deleted.status).toBe(204);
    expect((await server.get(`/v1/admin/plans/${second.body.id}`, server.adminKey)).status).toBe(404);

    const audit = await store.query<{ action: string; target_id: string }>(
      "SELECT action, target_id FROM audit_entries WHERE target_type = 'plan' ORDER BY seq",
    );
    expect(audit.map((a) => [a.action, a.target_id])).toEqual([
      ['plan.create', id],
      ['plan.create', second.body.id],
      ['plan.update', id],
      ['plan.delete', second.body.id],
    ]);
  });

  it('refuses to delete a plan while a consumer is on it', async () => {
    const plan = (await server.post('/v1/admin/plans', { name: 'Busy', currency: 'USD' }, server.adminKey)).body;
    const { consumer } = await consumerWithKey(server, {}, { planId: plan.id });
    const refused = await server.request('DELETE', `/v1/admin/plans/${plan.id}`, { key: server.adminKey });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('CONFLICT');
    expect((await server.patch(`/v1/admin/consumers/${consumer.id}`, { planId: null }, server.adminKey)).status).toBe(200);
    expect((await server.request('DELETE', `/v1/admin/plans/${plan.id}`, { key: server.adminKey })).status).toBe(204);
  });

  it('answers VALIDATION_FAILED with a detail per field', async () => {
    const simple = await server.post(
      '/v1/admin/plans',
      {
        name: '',
        currency: 'usd',
        baseFeeMinor: -1,
        quotas: [{ metric: 'Requests', limit: 10, period: 'day' }],
        rateLimits: [{ name: 'x', limit: 0, windowSeconds: 60 }],
        extra: true,
      },
      server.adminKey,
    );
    expect(simple.status).toBe(400);
    expect(simple.body.error).toBe('VALIDATION_FAILED');
    expect(fields(simple.body)).toEqual(
      ['baseFeeMinor', 'currency', 'extra', 'name', 'quotas[0].metric', 'quotas[0].period', 'rateLimits[0].limit'].sort(),
    );

    for (const currency of ['XAU', 'HRK', 'EURO']) {
      const r = await server.post('/v1/admin/plans', { name: 'x', currency }, server.adminKey);
      expect(r.status).toBe(400);
      expect(fields(r.body)).toEqual(['currency']);
    }

    const prices = await server.post(
      '/v1/admin/plans',
      {
        name: 'Bad prices',
        currency: 'USD',
        prices: [
          { metric: 'requests', model: 'per_unit', unitPrice: '-1' },
          { metric: 'requests', model: 'per_unit', unitPrice: '1', tiers: [] },
          { metric: 'tokens', model: 'graduated', tiers: [{ upTo: 100, unitPrice: '1' }, { upTo: 50, unitPrice: '1' }, { upTo: null, unitPrice: '1' }] },
          { metric: 'sms', model: 'package', packagePrice: '5' },
          { metric: 'seats', model: 'tiered' },
        ],
        quotas: [
          { metric: 'requests', limit: 1, period: 'month' },
          { metric: 'requests', limit: 2, period: 'month' },
        ],
        rateLimits: [
          { name: 'a', limit: 1, windowSeconds: 1 },
          { name: 'a', limit: 2, windowSeconds: 2 },
        ],
      },
      server.adminKey,
    );
    expect(prices.status).toBe(400);
    expect(fields(prices.body)).toEqual(
      [
        'prices[0].unitPrice',
        'prices[1].metric',
        'prices[1].tiers',
        'prices[2].tiers[1].upTo',
        'prices[3].packageSize',
        'prices[4].model',
        'quotas[1].metric',
        'rateLimits[1].name',
      ].sort(),
    );

    const plan = (await server.post('/v1/admin/plans', PRO, server.adminKey)).body;
    const badPatch = await server.patch(`/v1/admin/plans/${plan.id}`, { prices: [{ metric: 'requests', model: 'volume', tiers: [{ upTo: 5, unitPrice: '1' }] }] }, server.adminKey);
    expect(badPatch.status).toBe(400);
    expect(fields(badPatch.body)).toEqual(['prices[0].tiers[0].upTo']);
    expect((await server.get(`/v1/admin/plans/${plan.id}`, server.adminKey)).body.prices).toEqual(PRO.prices);
  });

  it('NOT_FOUND for an unknown plan, and a consumer cannot be put on one', async () => {
    for (const [method, body] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const r = await server.request(method, '/v1/admin/plans/plan_01ABCDEFGHJKMNPQRSTVWXYZ0', { key: server.adminKey, body });
      expect(r.status).toBe(404);
      expect(r.body.error).toBe('NOT_FOUND');
    }
    const c = await server.post('/v1/admin/consumers', { name: 'x', planId: 'plan_01ABCDEFGHJKMNPQRSTVWXYZ0' }, server.adminKey);
    expect(c.status).toBe(400);
  });

  it('needs plans:read to read and plans:write to change, on admin keys only', async () => {
    const reader = await adminKeyWith(server, ['plans:read']);
    const writer = await adminKeyWith(server, ['plans:write']);
    const plan = (await server.post('/v1/admin/plans', { name: 'Scoped', currency: 'USD' }, server.adminKey)).body;

    expect((await server.get('/v1/admin/plans', reader)).status).toBe(200);
    expect((await server.get(`/v1/admin/plans/${plan.id}`, reader)).status).toBe(200);
    for (const r of [
      await server.post('/v1/admin/plans', { name: 'x', currency: 'USD' }, reader),
      await server.patch(`/v1/admin/plans/${plan.id}`, { name: 'y' }, reader),
      await server.request('DELETE', `/v1/admin/plans/${plan.id}`, { key: reader }),
      await server.get('/v1/admin/plans', writer),
    ]) {
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    }
    expect((await server.post('/v1/admin/plans', { name: 'x', currency: 'USD' }, writer)).status).toBe(201);

    const { plaintext } = await consumerWithKey(server, { scopes: ['billing:read', 'usage:read'] });
    const consumerKey = await server.get('/v1/admin/plans', plaintext);
    expect(consumerKey.status).toBe(403);
    expect(consumerKey.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await server.get('/v1/admin/plans')).status).toBe(401);
  });
});
