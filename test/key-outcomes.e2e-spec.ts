import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';

type Report = { granularity: string; series: { outcome: string; keyId?: string; points: { start: string; quantity: number }[] }[]; totals: { outcome: string; quantity: number }[] };

describe('per-key outcomes (GET /v1/admin/usage/outcomes) and GET /v1/admin/me', () => {
  let server: TestServer;
  const from = () => new Date(Date.now() - 3_600_000).toISOString();
  const to = () => new Date(Date.now() + 120_000).toISOString();

  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function totals(query: string, expected: Record<string, number>): Promise<Record<string, number>> {
    let seen: Record<string, number> = {};
    for (let i = 0; i < 50; i++) {
      const r = await server.get<Report>(`/v1/admin/usage/outcomes?from=${from()}&to=${to()}&granularity=minute&${query}`, server.adminKey);
      expect(r.status).toBe(200);
      seen = Object.fromEntries(r.body.totals.map((t) => [t.outcome, t.quantity]));
      if (JSON.stringify(seen) === JSON.stringify(expected)) return seen;
      await sleep(100);
    }
    return seen;
  }

  it('counts admitted and refused requests of a key by outcome, and a 403 from a handler only once', async () => {
    const { consumer, key, plaintext } = await consumerWithKey(server, {
      scopes: ['usage:read', 'keys:write'],
      rateLimits: [{ name: 'burst', limit: 3, windowSeconds: 60 }],
    });
    const other = await consumerWithKey(server, { scopes: ['usage:read'] }, { name: 'Other' });
    // 1 admitted, 1 refused by the scope guard (no billing:read), 1 admitted then refused by its handler
    // (a key cannot grant a scope it does not hold): that one is usage, not a refusal.
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me/billing/current', plaintext)).status).toBe(403);
    expect((await server.post('/v1/me/keys', { name: 'x', scopes: ['billing:read'] }, plaintext)).status).toBe(403);
    // The limit of 3 is used up (the scope refusal did not take a slot): rate-limited from here on.
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(429);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(429);
    expect((await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey)).status).toBe(200);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(401);
    // Unknown keys belong to no key and are not counted anywhere.
    expect((await server.get('/v1/me/ping', 'tg_live_unknownunknownunknownunknownunknown')).status).toBe(401);
    expect((await server.get('/v1/me/ping', other.plaintext)).status).toBe(200);

    const expected = { INSUFFICIENT_PERMISSIONS: 1, KEY_REVOKED: 1, RATE_LIMIT_EXCEEDED: 2, VALID: 3 };
    expect(await totals(`keyId=${key.id}`, expected)).toEqual(expected);
    expect(await totals(`consumerId=${consumer.id}`, expected)).toEqual(expected);
    expect(await totals(`consumerId=${other.consumer.id}`, { VALID: 1 })).toEqual({ VALID: 1 });

    const byKey = await server.get<Report>(`/v1/admin/usage/outcomes?from=${from()}&to=${to()}&groupBy=key&consumerId=${consumer.id}`, server.adminKey);
    expect(byKey.status).toBe(200);
    expect(byKey.body.granularity).toBe('hour');
    expect(new Set(byKey.body.series.map((s) => s.keyId))).toEqual(new Set([key.id]));
    expect(byKey.body.series.map((s) => s.outcome).sort()).toEqual(['INSUFFICIENT_PERMISSIONS', 'KEY_REVOKED', 'RATE_LIMIT_EXCEEDED', 'VALID']);

    // Refusals are never billed: the consumer's usage holds the admitted requests only.
    const usage = await server.get(`/v1/admin/usage?from=${from()}&to=${to()}&consumerId=${consumer.id}&metric=requests`, server.adminKey);
    expect(usage.body.totals).toEqual([{ metric: 'requests', quantity: 3 }]);
  });

  it('counts quota refusals apart from rate limits, and refusals of a suspended consumer', async () => {
    const plan = await server.post('/v1/admin/plans', { name: 'Tiny', currency: 'USD', quotas: [{ metric: 'requests', limit: 2, period: 'month' }] }, server.adminKey);
    expect(plan.status).toBe(201);
    const { consumer, key, plaintext } = await consumerWithKey(server, { scopes: ['usage:read'] }, { name: 'Quota', planId: plan.body.id });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await server.get('/v1/me/ping', plaintext)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect((await server.post(`/v1/admin/consumers/${consumer.id}/suspend`, {}, server.adminKey)).status).toBe(200);
    const suspended = await server.get('/v1/me/ping', plaintext);
    expect(suspended.status).toBe(403);
    expect(suspended.body.error).toBe('CONSUMER_SUSPENDED');
    const expected = { CONSUMER_SUSPENDED: 1, QUOTA_EXCEEDED: 1, VALID: 2 };
    expect(await totals(`keyId=${key.id}`, expected)).toEqual(expected);
  });

  it('counts a gateway verify that refuses a known key, except a cost-0 check', async () => {
    const gateway = await adminKeyWith(server, ['keys:verify']);
    const { key, plaintext } = await consumerWithKey(server, { scopes: ['usage:read'] }, { name: 'Verified' });
    const verify = (body: Record<string, unknown>) => server.post('/v1/keys/verify', body, gateway);
    expect((await verify({ key: plaintext })).body.code).toBe('VALID');
    expect((await verify({ key: plaintext, scopes: ['orders:read'] })).body.code).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey)).status).toBe(200);
    expect((await verify({ key: plaintext })).body.code).toBe('KEY_REVOKED');
    expect((await verify({ key: plaintext, cost: 0 })).body.code).toBe('KEY_REVOKED');
    const expected = { INSUFFICIENT_PERMISSIONS: 1, KEY_REVOKED: 1, VALID: 1 };
    expect(await totals(`keyId=${key.id}`, expected)).toEqual(expected);
  });

  it('writes the last refusals on shutdown', async () => {
    const own = await TestServer.start({ env: { USAGE_FLUSH_INTERVAL_MS: '60000' } });
    try {
      const { key, plaintext } = await consumerWithKey(own);
      expect((await own.post(`/v1/admin/keys/${key.id}/revoke`, {}, own.adminKey)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await own.get('/v1/me/ping', plaintext)).status).toBe(401);
      await own.stop('SIGTERM', false);
      const again = await TestServer.startSibling(own);
      try {
        const r = await again.get<Report>(`/v1/admin/usage/outcomes?from=${from()}&to=${to()}&keyId=${key.id}`, again.adminKey);
        expect(r.body.totals).toEqual([{ outcome: 'KEY_REVOKED', quantity: 3 }]);
      } finally {
        await again.stop('SIGTERM', false);
      }
    } finally {
      await own.db.drop();
    }
  });

  it('answers 404 for an unknown key or consumer, or a key of another consumer, and 400 for a bad range', async () => {
    const a = await consumerWithKey(server, {}, { name: 'A' });
    const b = await consumerWithKey(server, {}, { name: 'B' });
    const q = (s: string) => server.get(`/v1/admin/usage/outcomes?from=${from()}&to=${to()}&${s}`, server.adminKey);
    expect((await q('keyId=key_nope')).body.error).toBe('NOT_FOUND');
    expect((await q('consumerId=cons_nope')).body.error).toBe('NOT_FOUND');
    expect((await q(`consumerId=${a.consumer.id}&keyId=${b.key.id}`)).body.error).toBe('NOT_FOUND');
    const bad = await server.get(`/v1/admin/usage/outcomes?from=${to()}&to=${from()}`, server.adminKey);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    const wide = await server.get(`/v1/admin/usage/outcomes?from=2026-01-01T00:00:00.000Z&to=2026-03-01T00:00:00.000Z&granularity=minute`, server.adminKey);
    expect(wide.status).toBe(400);
  });

  it('needs usage:read and an admin key', async () => {
    const narrow = await adminKeyWith(server, ['consumers:read']);
    const r = await server.get(`/v1/admin/usage/outcomes?from=${from()}&to=${to()}`, narrow);
    expect(r.status).toBe(403);
    expect(r.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    const { plaintext } = await consumerWithKey(server);
    expect((await server.get(`/v1/admin/usage/outcomes?from=${from()}&to=${to()}`, plaintext)).status).toBe(403);
  });

  it('GET /v1/admin/me tells an admin key its scopes, with no scope needed; consumer keys are refused', async () => {
    const narrow = await adminKeyWith(server, ['consumers:read', 'plans:read']);
    const me = await server.get('/v1/admin/me', narrow);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'admin', environment: 'live', scopes: ['consumers:read', 'plans:read'], expiresAt: null });
    expect(me.body.id).toMatch(/^key_/);
    const { plaintext } = await consumerWithKey(server);
    const refused = await server.get('/v1/admin/me', plaintext);
    expect(refused.status).toBe(403);
    expect((await server.get('/v1/admin/me')).status).toBe(401);
  });
});
