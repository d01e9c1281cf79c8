import { adminKeyWith } from './support/fixtures';
import { TestServer } from './support/server';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface Operation {
  method: string;
  path: string;
  operationId: string;
  scopes: string[] | undefined;
  kinds: string[] | undefined;
}

function operations(doc: any): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) out.push({ method: method.toUpperCase(), path, operationId: op.operationId, scopes: op['x-required-scopes'], kinds: op['x-key-kinds'] });
    }
  }
  return out;
}

describe('least-privilege admin keys', () => {
  let server: TestServer;
  let rootId: string;
  /** Reads admin keys whatever happens to the root keys. */
  let keyReader: string;
  let secondRoot: string | undefined;

  beforeAll(async () => {
    server = await TestServer.start();
    rootId = (await server.get('/v1/admin/admin-keys', server.adminKey)).body.data[0].id;
    keyReader = await adminKeyWith(server, ['keys:read']);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('a consumers:read key can read consumers and is refused on every other operation of the OpenAPI document', async () => {
    const reader = await adminKeyWith(server, ['consumers:read']);
    const consumer = await server.post('/v1/admin/consumers', { name: 'Acme' }, server.adminKey);
    const doc = (await server.offContract('the document itself is not an operation of the document', 'GET', '/docs-json')).body;
    // Forward auth takes the gateway's key in X-Tollgate-Gateway-Key, not X-API-Key: its own suites cover it.
    const ops = operations(doc).filter((op) => op.scopes !== undefined && op.operationId !== 'authorizeRequest');
    expect(ops.length).toBeGreaterThan(20);

    const allowed: string[] = [];
    for (const op of ops) {
      // Real ids where the key may read, made-up ones elsewhere: the guards answer before any lookup.
      const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => (/consumer|^id$/i.test(name) ? consumer.body.id : `x_${name}`));
      const r = await server.request(op.method, path, { key: reader, body: op.method === 'GET' || op.method === 'DELETE' ? undefined : {} });
      const readsConsumers = op.kinds?.includes('admin') && op.scopes!.every((s) => s === 'consumers:read');
      if (readsConsumers) {
        allowed.push(op.operationId);
        // Let through: 200, or 404 where a made-up id stands in for a path parameter.
        expect({ op: op.operationId, status: r.status }).toEqual({ op: op.operationId, status: path.includes('/x_') ? 404 : 200 });
      } else {
        expect({ op: op.operationId, status: r.status, error: r.body?.error }).toEqual({
          op: op.operationId,
          status: 403,
          error: 'INSUFFICIENT_PERMISSIONS',
        });
      }
    }
    expect(allowed).toEqual(expect.arrayContaining(['getConsumer', 'listConsumers']));
  });

  it('cannot create a key with more scopes than its own', async () => {
    const manager = await adminKeyWith(server, ['keys:write', 'consumers:read']);
    for (const scopes of [['consumers:write'], ['consumers:*'], ['*'], ['keys:*'], ['consumers:read', 'audit:read']]) {
      const r = await server.post('/v1/admin/admin-keys', { name: 'more', scopes }, manager);
      expect({ scopes, status: r.status, error: r.body.error }).toEqual({ scopes, status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
    }
    const ok = await server.post('/v1/admin/admin-keys', { name: 'less', scopes: ['consumers:read'] }, manager);
    expect(ok.status).toBe(201);
    expect(ok.body.scopes).toEqual(['consumers:read']);
    const list = await server.get('/v1/admin/consumers', ok.body.key);
    expect(list.status).toBe(200);
  });

  it('refuses escalation through patch and rotate, and changes to keys above the caller', async () => {
    const managerKey = await adminKeyWith(server, ['keys:read', 'keys:write', 'consumers:read']);
    const keys = (await server.get('/v1/admin/admin-keys?limit=100', server.adminKey)).body.data;
    const manager = keys.find((k: any) => k.scopes.join() === 'keys:read,keys:write,consumers:read' && !k.revokedAt);
    const sub = await server.post('/v1/admin/admin-keys', { name: 'sub', scopes: ['consumers:read'] }, managerKey);

    const refused: [string, string, unknown][] = [
      ['PATCH', `/v1/admin/keys/${manager.id}`, { scopes: ['*'] }],
      ['PATCH', `/v1/admin/keys/${manager.id}`, { scopes: ['keys:read', 'keys:write', 'consumers:read', 'consumers:write'] }],
      ['PATCH', `/v1/admin/keys/${sub.body.id}`, { scopes: ['consumers:read', 'consumers:write'] }],
      ['PATCH', `/v1/admin/keys/${sub.body.id}`, { scopes: ['audit:read'] }],
      ['POST', `/v1/admin/keys/${rootId}/rotate`, {}],
      ['PATCH', `/v1/admin/keys/${rootId}`, { name: 'renamed by a lesser key' }],
      ['PATCH', `/v1/admin/keys/${rootId}`, { allowedIps: ['192.0.2.1'] }],
      ['POST', `/v1/admin/keys/${rootId}/revoke`, {}],
    ];
    for (const [method, path, body] of refused) {
      const r = await server.request(method, path, { key: managerKey, body });
      expect({ method, path, body, status: r.status, error: r.body.error }).toEqual({ method, path, body, status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
    }
    const root = (await server.get(`/v1/admin/keys/${rootId}`, server.adminKey)).body;
    expect(root).toMatchObject({ scopes: ['*'], revokedAt: null, name: 'bootstrap admin key', allowedIps: [] });

    // Within its own scopes it manages keys normally.
    const narrowed = await server.patch(`/v1/admin/keys/${sub.body.id}`, { scopes: ['keys:read'] }, managerKey);
    expect(narrowed.status).toBe(200);
    const rotated = await server.post(`/v1/admin/keys/${sub.body.id}/rotate`, {}, managerKey);
    expect(rotated.status).toBe(201);
    expect(rotated.body.scopes).toEqual(['keys:read']);
    expect((await server.post(`/v1/admin/keys/${rotated.body.id}/revoke`, {}, managerKey)).status).toBe(200);
  });

  it('keeps one active key holding *: it cannot be revoked, narrowed or given an expiry', async () => {
    const conflicts: [string, string, unknown][] = [
      ['POST', `/v1/admin/keys/${rootId}/revoke`, {}],
      ['PATCH', `/v1/admin/keys/${rootId}`, { scopes: ['keys:*', 'consumers:*'] }],
      ['PATCH', `/v1/admin/keys/${rootId}`, { expiresAt: new Date(Date.now() + 86_400_000).toISOString() }],
    ];
    for (const [method, path, body] of conflicts) {
      const r = await server.request(method, path, { key: server.adminKey, body });
      expect({ method, body, status: r.status, error: r.body.error }).toEqual({ method, body, status: 409, error: 'CONFLICT' });
    }
    expect((await server.get('/v1/admin/consumers', server.adminKey)).status).toBe(200);

    // With a second root key, the first may go; then the second is the last one.
    const second = await server.post('/v1/admin/admin-keys', { name: 'second root', scopes: ['*'] }, server.adminKey);
    expect(second.status).toBe(201);
    secondRoot = second.body.key;
    expect((await server.post(`/v1/admin/keys/${rootId}/revoke`, {}, second.body.key)).status).toBe(200);
    const last = await server.post(`/v1/admin/keys/${second.body.id}/revoke`, {}, second.body.key);
    expect(last.status).toBe(409);
    expect(last.body.error).toBe('CONFLICT');
  });

  it('lets only one of two concurrent revocations of the last two root keys through', async () => {
    const caller = secondRoot!;
    const third = await server.post('/v1/admin/admin-keys', { name: 'third root', scopes: ['*'] }, caller);
    expect(third.status).toBe(201);
    const activeRoots = async () =>
      (await server.get('/v1/admin/admin-keys?status=active&limit=100', keyReader)).body.data.filter((k: any) => k.scopes.includes('*'));
    const pair = await activeRoots();
    expect(pair.map((k: any) => k.name).sort()).toEqual(['second root', 'third root']);

    const results = await Promise.all(pair.map((k: any) => server.post(`/v1/admin/keys/${k.id}/revoke`, {}, caller)));
    const statuses = results.map((r) => r.status).sort();
    // One goes through; the other meets the rule (409) or, if it started after its own key was revoked, the guard (401).
    expect(statuses[0]).toBe(200);
    expect([401, 409]).toContain(statuses[1]);
    expect(await activeRoots()).toHaveLength(1);
  });
});
