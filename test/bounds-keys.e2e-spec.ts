import { adminKeyWith, consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';

const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
const ORIGIN = 'https://app.example.com';

/**
 * Admin keys follow the bounds consumer keys follow (no key outlives or outreaches the key that makes or
 * changes it), reads stay in the caller's environment, a publishable key sees only itself, and `null` in a
 * PATCH body either clears the field or is a 400, never a 500.
 */
describe('key bounds: admin keys, environments, publishable keys, null in PATCH', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  function expectRefused(r: { status: number; body: any }, what?: unknown) {
    expect({ what, status: r.status, error: r.body?.error }).toEqual({ what, status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
  }

  function expectInvalid(r: { status: number; body: any }, field: string, what?: unknown) {
    expect({ what, status: r.status, error: r.body?.error }).toEqual({ what, status: 400, error: 'VALIDATION_FAILED' });
    // The field itself, or one of its items (`rateLimits[0]`).
    expect({ what, fields: r.body.details.map((d: any) => d.field.replace(/\[\d+\]$/, '')) }).toEqual({ what, fields: expect.arrayContaining([field]) });
  }

  const adminState = async (id: string) => (await server.get(`/v1/admin/keys/${id}`, server.adminKey)).body;

  /** An admin key that manages keys, expires in an hour and answers only from this machine. */
  async function boundAdmin(scopes = ['keys:read', 'keys:write']) {
    const r = await server.post(
      '/v1/admin/admin-keys',
      { name: 'bound', scopes, expiresAt: inHours(1), allowedIps: ['127.0.0.1/32'] },
      server.adminKey,
    );
    expect(r.status).toBe(201);
    return r.body as { id: string; key: string; expiresAt: string; allowedIps: string[] };
  }

  describe('admin keys stay within their own expiry and addresses', () => {
    it('creates no admin key or consumer key that outlives it or answers from elsewhere', async () => {
      const caller = await boundAdmin();
      const { consumer } = await consumerWithKey(server);
      const bodies: Record<string, unknown>[] = [
        { expiresAt: inHours(2) },
        { expiresAt: null, allowedIps: [] },
        { allowedIps: [] },
        { allowedIps: ['10.0.0.0/8'] },
        { allowedIps: ['127.0.0.0/8'] },
        { allowedIps: ['127.0.0.1', '::1'] },
      ];
      for (const body of bodies) {
        expectRefused(await server.post('/v1/admin/admin-keys', { name: 'escape', scopes: ['keys:read'], ...body }, caller.key), body);
        expectRefused(await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'escape', scopes: ['usage:read'], ...body }, caller.key), body);
      }
      const admins = (await server.get('/v1/admin/keys?limit=100', server.adminKey)).body.data;
      expect(admins.filter((k: any) => k.name === 'escape')).toEqual([]);

      // Left out, both bounds are inherited; within them, what is asked is given.
      const inherited = await server.post('/v1/admin/admin-keys', { name: 'inherits', scopes: ['keys:read'] }, caller.key);
      expect(inherited.status).toBe(201);
      expect(inherited.body).toMatchObject({ expiresAt: caller.expiresAt, allowedIps: ['127.0.0.1/32'] });
      const ofConsumer = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'inherits', scopes: ['usage:read'] }, caller.key);
      expect(ofConsumer.status).toBe(201);
      expect(ofConsumer.body).toMatchObject({ expiresAt: caller.expiresAt, allowedIps: ['127.0.0.1/32'] });
      const sooner = inHours(0.5);
      const within = await server.post('/v1/admin/admin-keys', { name: 'within', scopes: ['keys:read'], expiresAt: sooner, allowedIps: ['127.0.0.1'] }, caller.key);
      expect(within.status).toBe(201);
      expect(within.body).toMatchObject({ expiresAt: sooner, allowedIps: ['127.0.0.1'] });
    });

    it('never loosens its own expiry or allowlist; narrowing them is fine', async () => {
      const caller = await boundAdmin();
      for (const body of [{ expiresAt: null }, { expiresAt: inHours(3) }, { allowedIps: [] }, { allowedIps: null }, { allowedIps: ['127.0.0.0/8'] }, { allowedIps: ['127.0.0.1/32', '10.0.0.1'] }]) {
        expectRefused(await server.patch(`/v1/admin/keys/${caller.id}`, body, caller.key), body);
      }
      expect(await adminState(caller.id)).toMatchObject({ expiresAt: caller.expiresAt, allowedIps: ['127.0.0.1/32'] });
      const sooner = inHours(0.5);
      const narrowed = await server.patch(`/v1/admin/keys/${caller.id}`, { expiresAt: sooner, allowedIps: ['127.0.0.1'] }, caller.key);
      expect(narrowed.status).toBe(200);
      expect(narrowed.body).toMatchObject({ expiresAt: sooner, allowedIps: ['127.0.0.1'] });
    });

    it('neither widens other keys past its bounds nor rotates a key that outlives or outreaches it', async () => {
      const caller = await boundAdmin();
      const { key: consumerKey } = await consumerWithKey(server);
      const other = await server.post('/v1/admin/admin-keys', { name: 'other', scopes: ['keys:read'] }, server.adminKey);
      for (const id of [consumerKey.id, other.body.id]) {
        for (const body of [{ expiresAt: null }, { expiresAt: inHours(5) }, { allowedIps: [] }, { allowedIps: ['192.0.2.0/24'] }]) {
          expectRefused(await server.patch(`/v1/admin/keys/${id}`, body, caller.key), { id, body });
        }
        // Its successor would answer from anywhere, for ever: the caller may not hold its plaintext.
        expectRefused(await server.post(`/v1/admin/keys/${id}/rotate`, {}, caller.key), id);
      }
      expect(await adminState(consumerKey.id)).toMatchObject({ expiresAt: null, allowedIps: [], revokedAt: null });
      expect(await adminState(other.body.id)).toMatchObject({ expiresAt: null, allowedIps: [], revokedAt: null });
      const rotations = (await server.get(`/v1/admin/audit-log?targetId=${consumerKey.id}`, server.adminKey)).body.data;
      expect(rotations.map((e: any) => e.action)).toEqual(['key.create']);

      // A change that keeps within its bounds goes through, and so does a rotation of a key inside them.
      const renamed = await server.patch(`/v1/admin/keys/${other.body.id}`, { name: 'renamed', expiresAt: inHours(0.5), allowedIps: ['127.0.0.1'] }, caller.key);
      expect(renamed.status).toBe(200);
      const rotated = await server.post(`/v1/admin/keys/${other.body.id}/rotate`, {}, caller.key);
      expect(rotated.status).toBe(201);
      expect(rotated.body).toMatchObject({ expiresAt: renamed.body.expiresAt, allowedIps: ['127.0.0.1'] });
    });

    it('a key without bounds keeps managing keys without them', async () => {
      const free = await adminKeyWith(server, ['keys:read', 'keys:write']);
      const r = await server.post('/v1/admin/admin-keys', { name: 'unbound', scopes: ['keys:read'] }, free);
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ expiresAt: null, allowedIps: [] });
      expect((await server.patch(`/v1/admin/keys/${r.body.id}`, { allowedIps: ['10.0.0.0/8'] }, free)).status).toBe(200);
      expect((await server.patch(`/v1/admin/keys/${r.body.id}`, { allowedIps: [] }, free)).status).toBe(200);
    });
  });

  describe('consumer keys by the same rule', () => {
    it('an IP-bound consumer key creates and rotates only keys bound to its own ranges', async () => {
      const { consumer, plaintext } = await consumerWithKey(server, { allowedIps: ['127.0.0.1/32'] });
      expectRefused(await server.post('/v1/me/keys', { name: 'anywhere', scopes: ['usage:read'], allowedIps: [] }, plaintext));
      expectRefused(await server.post('/v1/me/keys', { name: 'wider', scopes: ['usage:read'], allowedIps: ['0.0.0.0/0'] }, plaintext));
      const inherited = await server.post('/v1/me/keys', { name: 'inherits', scopes: ['usage:read'] }, plaintext);
      expect(inherited.status).toBe(201);
      expect(inherited.body.allowedIps).toEqual(['127.0.0.1/32']);
      const open = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'open', scopes: ['usage:read'] }, server.adminKey);
      expectRefused(await server.post(`/v1/me/keys/${open.body.id}/rotate`, {}, plaintext));
      expect((await server.post(`/v1/me/keys/${inherited.body.id}/rotate`, {}, plaintext)).status).toBe(201);
    });
  });

  describe('a test key reads only test keys', () => {
    it('404 for a live sibling on every /v1/me/keys route that names one; lists hold its environment only', async () => {
      const { consumer, key: live } = await consumerWithKey(server);
      const test = await server.post(
        `/v1/admin/consumers/${consumer.id}/keys`,
        { name: 'test', environment: 'test', scopes: ['keys:read', 'keys:write', 'usage:read'] },
        server.adminKey,
      );
      const r = await server.get(`/v1/me/keys/${live.id}`, test.body.key);
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 404, error: 'NOT_FOUND' });
      expect(r.text).not.toContain(live.start);
      expect((await server.get(`/v1/me/keys/${test.body.id}`, test.body.key)).status).toBe(200);

      for (const query of ['', '?environment=live', '?status=active', '?limit=100']) {
        const list = await server.get(`/v1/me/keys${query}`, test.body.key);
        expect(list.status).toBe(200);
        expect({ query, ids: list.body.data.map((k: any) => k.id) }).toEqual({ query, ids: query.includes('live') ? [] : [test.body.id] });
      }
      // The live key still sees its own environment only.
      const liveList = await server.get('/v1/me/keys', live.key);
      expect(liveList.body.data.map((k: any) => k.id)).toEqual([live.id]);

      // Writes across environments are refused and change nothing.
      expectRefused(await server.post(`/v1/me/keys/${live.id}/revoke`, {}, test.body.key));
      expectRefused(await server.post(`/v1/me/keys/${live.id}/rotate`, {}, test.body.key));
      expect(await adminState(live.id)).toMatchObject({ revokedAt: null, expiresAt: null });
    });
  });

  describe('a publishable key sees only itself', () => {
    it("GET /v1/me shows its own public fields, never the consumer's name, externalId or metadata", async () => {
      const { consumer, plaintext: secret } = await consumerWithKey(
        server,
        { kind: 'publishable', name: 'web app', scopes: ['usage:write'], allowedOrigins: [ORIGIN], metadata: { note: 'key-private' }, allowedIps: ['127.0.0.0/8'] },
        { name: 'Confidential Corp', externalId: 'acct-confidential', metadata: { taxId: 'DE-TAX-123' } },
      );
      const r = await server.get('/v1/me', secret, { origin: ORIGIN });
      expect(r.status).toBe(200);
      expect(r.body.consumer).toBeNull();
      expect(r.body.key).toMatchObject({ kind: 'publishable', name: 'web app', scopes: ['usage:write'], allowedOrigins: [ORIGIN] });
      expect(r.body.key.metadata).toBeUndefined();
      expect(r.body.key.allowedIps).toBeUndefined();
      for (const leak of ['Confidential Corp', 'acct-confidential', 'DE-TAX-123', 'key-private', consumer.id]) expect(r.text).not.toContain(leak);

      // A secret key of the same consumer still sees its consumer.
      const backend = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'backend', scopes: ['usage:read'] }, server.adminKey);
      const mine = await server.get('/v1/me', backend.body.key);
      expect(mine.status).toBe(200);
      expect(mine.body.consumer).toMatchObject({ name: 'Confidential Corp', externalId: 'acct-confidential', metadata: { taxId: 'DE-TAX-123' } });
      expect(mine.body.key.metadata).toEqual({});
    });
  });

  describe('null in PATCH bodies', () => {
    it('keys: null clears expiresAt, allowedIps, allowedOrigins, rateLimits and metadata; null name or scopes is 400', async () => {
      const { key } = await consumerWithKey(server, {
        expiresAt: inHours(10),
        allowedIps: ['10.0.0.0/8'],
        rateLimits: [{ name: 'per-second', limit: 5, windowSeconds: 1 }],
        metadata: { team: 'a' },
      });
      for (const field of ['name', 'scopes']) expectInvalid(await server.patch(`/v1/admin/keys/${key.id}`, { [field]: null }, server.adminKey), field, field);
      for (const [field, value] of [['scopes', [null]], ['allowedIps', [null]], ['rateLimits', [null]], ['allowedOrigins', [null]]] as const) {
        expectInvalid(await server.patch(`/v1/admin/keys/${key.id}`, { [field]: value }, server.adminKey), field, { field, value });
      }
      expect(await adminState(key.id)).toMatchObject({ name: 'backend', allowedIps: ['10.0.0.0/8'], metadata: { team: 'a' } });

      const cleared = await server.patch(
        `/v1/admin/keys/${key.id}`,
        { expiresAt: null, allowedIps: null, allowedOrigins: null, rateLimits: null, metadata: null },
        server.adminKey,
      );
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ expiresAt: null, allowedIps: [], allowedOrigins: [], rateLimits: [], metadata: {} });

      const { key: pub } = await consumerWithKey(server, { kind: 'publishable', scopes: ['usage:write'], allowedOrigins: [ORIGIN] });
      expectInvalid(await server.patch(`/v1/admin/keys/${pub.id}`, { allowedOrigins: null }, server.adminKey), 'allowedOrigins');
      expect((await adminState(pub.id)).allowedOrigins).toEqual([ORIGIN]);

      const admin = await server.post('/v1/admin/admin-keys', { name: 'nullable', scopes: ['keys:read'], metadata: { a: 1 } }, server.adminKey);
      expectInvalid(await server.patch(`/v1/admin/keys/${admin.body.id}`, { scopes: null }, server.adminKey), 'scopes');
      const adminCleared = await server.patch(`/v1/admin/keys/${admin.body.id}`, { metadata: null, rateLimits: null }, server.adminKey);
      expect(adminCleared.status).toBe(200);
      expect(adminCleared.body).toMatchObject({ metadata: {}, rateLimits: [], scopes: ['keys:read'] });
    });

    it('consumers: null clears externalId, planId and metadata; null name or billingAnchorDay is 400', async () => {
      const { consumer } = await consumerWithKey(server, {}, { externalId: 'ext-null', metadata: { a: 1 }, billingAnchorDay: 5 });
      for (const field of ['name', 'billingAnchorDay']) expectInvalid(await server.patch(`/v1/admin/consumers/${consumer.id}`, { [field]: null }, server.adminKey), field, field);
      const state = (await server.get(`/v1/admin/consumers/${consumer.id}`, server.adminKey)).body;
      expect(state).toMatchObject({ name: 'Acme', billingAnchorDay: 5, externalId: 'ext-null' });
      const cleared = await server.patch(`/v1/admin/consumers/${consumer.id}`, { externalId: null, planId: null, metadata: null }, server.adminKey);
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ externalId: null, planId: null, metadata: {}, name: 'Acme', billingAnchorDay: 5 });
    });

    it('plans: null clears rate limits, quotas, prices and metadata; null name, currency or base fee is 400', async () => {
      const plan = await server.post(
        '/v1/admin/plans',
        {
          name: 'Nullable',
          currency: 'USD',
          baseFeeMinor: 100,
          rateLimits: [{ name: 'per-minute', limit: 10, windowSeconds: 60 }],
          quotas: [{ metric: 'requests', limit: 100, period: 'month' }],
          prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.01' }],
          metadata: { a: 1 },
        },
        server.adminKey,
      );
      expect(plan.status).toBe(201);
      for (const field of ['name', 'currency', 'baseFeeMinor']) expectInvalid(await server.patch(`/v1/admin/plans/${plan.body.id}`, { [field]: null }, server.adminKey), field, field);
      for (const field of ['rateLimits', 'quotas', 'prices']) {
        const r = await server.patch(`/v1/admin/plans/${plan.body.id}`, { [field]: [null] }, server.adminKey);
        expect({ field, status: r.status, error: r.body.error }).toEqual({ field, status: 400, error: 'VALIDATION_FAILED' });
      }
      expect((await server.get(`/v1/admin/plans/${plan.body.id}`, server.adminKey)).body).toMatchObject({ name: 'Nullable', currency: 'USD', baseFeeMinor: 100 });
      const cleared = await server.patch(`/v1/admin/plans/${plan.body.id}`, { rateLimits: null, quotas: null, prices: null, metadata: null }, server.adminKey);
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ rateLimits: [], quotas: [], prices: [], metadata: {}, name: 'Nullable' });
    });

    it('webhook endpoints: null events, url or enabled is 400 and leaves the endpoint enabled; null description and metadata clear them', async () => {
      const ep = await server.post(
        '/v1/admin/webhook-endpoints',
        { url: 'http://127.0.0.1:9/hook', events: ['invoice.closed'], description: 'd', metadata: { a: 1 } },
        server.adminKey,
      );
      expect(ep.status).toBe(201);
      for (const field of ['events', 'enabled', 'url']) expectInvalid(await server.patch(`/v1/admin/webhook-endpoints/${ep.body.id}`, { [field]: null }, server.adminKey), field, field);
      expectInvalid(await server.patch(`/v1/admin/webhook-endpoints/${ep.body.id}`, { events: [null] }, server.adminKey), 'events');
      const state = (await server.get(`/v1/admin/webhook-endpoints/${ep.body.id}`, server.adminKey)).body;
      expect(state).toMatchObject({ enabled: true, events: ['invoice.closed'], url: 'http://127.0.0.1:9/hook' });
      const cleared = await server.patch(`/v1/admin/webhook-endpoints/${ep.body.id}`, { description: null, metadata: null }, server.adminKey);
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ description: null, metadata: {}, enabled: true });
    });

    it('the document says, field by field, which PATCH fields take null', async () => {
      const doc = (await server.offContract('the document itself is not an operation of the document', 'GET', '/docs-json')).body;
      const nullable = (schema: string) =>
        Object.entries<any>(doc.components.schemas[schema].properties)
          .filter(([, p]) => p.nullable === true)
          .map(([name]) => name)
          .sort();
      expect(nullable('UpdateKeyDto')).toEqual(['allowedIps', 'allowedOrigins', 'expiresAt', 'metadata', 'rateLimits']);
      expect(nullable('UpdateConsumerDto')).toEqual(['externalId', 'metadata', 'planId']);
      expect(nullable('UpdatePlanDto')).toEqual(['metadata', 'prices', 'quotas', 'rateLimits']);
      expect(nullable('UpdateWebhookEndpointDto')).toEqual(['description', 'metadata']);
    });
  });
});
