import { consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';

const ALL_CONSUMER_SCOPES = ['usage:read', 'usage:write', 'billing:read', 'keys:read', 'keys:write'];
const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();

describe('keys never escape their bounds', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start();
  });

  afterAll(async () => {
    await server?.stop();
  });

  function expectRefused(r: { status: number; body: any }) {
    expect({ status: r.status, error: r.body?.error }).toEqual({ status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
  }

  /** A consumer with a live production key holding every consumer scope, and nothing else. */
  async function production() {
    return consumerWithKey(server, { name: 'production', scopes: ALL_CONSUMER_SCOPES });
  }

  async function siblingOf(consumerId: string, body: Record<string, unknown>) {
    const r = await server.post(`/v1/admin/consumers/${consumerId}/keys`, { name: 'sibling', ...body }, server.adminKey);
    expect(r.status).toBe(201);
    return r.body;
  }

  async function keyState(id: string) {
    return (await server.get(`/v1/admin/keys/${id}`, server.adminKey)).body;
  }

  async function auditActions(targetId: string): Promise<string[]> {
    return (await server.get(`/v1/admin/audit-log?targetId=${targetId}`, server.adminKey)).body.data.map((e: any) => e.action);
  }

  it('a short-lived test key cannot rotate a live, non-expiring sibling into a plaintext of its own', async () => {
    const { consumer, key: live } = await production();
    const test = await siblingOf(consumer.id, { environment: 'test', scopes: ALL_CONSUMER_SCOPES, expiresAt: inHours(1) });
    const r = await server.post(`/v1/me/keys/${live.id}/rotate`, { gracePeriodSeconds: 60 }, test.key);
    expectRefused(r);
    expect(r.body.key).toBeUndefined();
    expect(await keyState(live.id)).toMatchObject({ expiresAt: null, revokedAt: null });
    expect(await auditActions(live.id)).toEqual(['key.create']);
  });

  it('a key that expires cannot rotate a sibling that outlives it, even in its own environment', async () => {
    const { consumer, key: live } = await production();
    const shortLived = await siblingOf(consumer.id, { scopes: ALL_CONSUMER_SCOPES, expiresAt: inHours(1) });
    expectRefused(await server.post(`/v1/me/keys/${live.id}/rotate`, {}, shortLived.key));
    const later = await siblingOf(consumer.id, { scopes: ['usage:read'], expiresAt: inHours(2) });
    expectRefused(await server.post(`/v1/me/keys/${later.id}/rotate`, {}, shortLived.key));
    // One that ends first is within bounds, and its successor keeps that end.
    const sooner = await siblingOf(consumer.id, { scopes: ['usage:read'], expiresAt: inHours(0.5) });
    const ok = await server.post(`/v1/me/keys/${sooner.id}/rotate`, {}, shortLived.key);
    expect(ok.status).toBe(201);
    expect(ok.body.expiresAt).toBe(sooner.expiresAt);
    expect(await keyState(live.id)).toMatchObject({ expiresAt: null, revokedAt: null });
  });

  it('a key of one environment neither revokes nor rotates a key of the other', async () => {
    const { consumer, plaintext } = await production();
    const test = await siblingOf(consumer.id, { environment: 'test', scopes: ['usage:read'] });
    expectRefused(await server.post(`/v1/me/keys/${test.id}/revoke`, {}, plaintext));
    expectRefused(await server.post(`/v1/me/keys/${test.id}/rotate`, {}, plaintext));
    expect(await keyState(test.id)).toMatchObject({ revokedAt: null, expiresAt: null });
    expect(await auditActions(test.id)).toEqual(['key.create']);
  });

  it('a narrow key cannot take down a broader one: revoke and rotate need every scope the target holds', async () => {
    const { consumer, key: prod, plaintext: prodKey } = await production();
    const narrow = await siblingOf(consumer.id, { scopes: ['keys:write'] });
    expectRefused(await server.post(`/v1/me/keys/${prod.id}/revoke`, {}, narrow.key));
    expectRefused(await server.post(`/v1/me/keys/${prod.id}/rotate`, { gracePeriodSeconds: 0 }, narrow.key));
    expect(await keyState(prod.id)).toMatchObject({ revokedAt: null, expiresAt: null });
    expect((await server.get('/v1/me', prodKey)).status).toBe(200);
    expect(await auditActions(prod.id)).toEqual(['key.create']);

    // Keys within its scopes, and itself, it still manages.
    const same = await siblingOf(consumer.id, { scopes: ['keys:write'] });
    expect((await server.post(`/v1/me/keys/${same.id}/revoke`, {}, narrow.key)).status).toBe(200);
    // And the broader key manages the narrower one.
    expect((await server.post(`/v1/me/keys/${narrow.id}/revoke`, {}, prodKey)).status).toBe(200);
  });

  it('the key made by a rotation keeps the rotated key its own expiry; rotating a key in its grace period is 409', async () => {
    const { consumer, plaintext: prodKey } = await production();
    const original = await siblingOf(consumer.id, { scopes: ['usage:read'], expiresAt: inHours(24) });
    const first = await server.post(`/v1/admin/keys/${original.id}/rotate`, { gracePeriodSeconds: 2 }, server.adminKey);
    expect(first.status).toBe(201);
    expect(first.body.expiresAt).toBe(original.expiresAt);

    const again = await server.post(`/v1/admin/keys/${original.id}/rotate`, { gracePeriodSeconds: 2 }, server.adminKey);
    expect({ status: again.status, error: again.body.error }).toEqual({ status: 409, error: 'CONFLICT' });
    expect(again.body.message).toMatch(/rotate its successor/);
    expect(again.body.message).toContain(first.body.id);
    // The same through /v1/me/keys.
    const mine = await server.post(`/v1/me/keys/${original.id}/rotate`, {}, prodKey);
    expect({ status: mine.status, error: mine.body.error }).toEqual({ status: 409, error: 'CONFLICT' });
    expect(await auditActions(original.id)).toEqual(['key.rotate', 'key.create']);

    // The successor rotates normally and its own successor lives as long as the original did.
    const second = await server.post(`/v1/admin/keys/${first.body.id}/rotate`, { gracePeriodSeconds: 2 }, server.adminKey);
    expect(second.status).toBe(201);
    expect(second.body.expiresAt).toBe(original.expiresAt);
    await sleep(3000);
    expect((await server.get('/v1/me', second.body.key)).status).toBe(200);
    expect((await server.get('/v1/me', first.body.key)).body.error).toBe('KEY_EXPIRED');
  });

  it('a consumer key with no expiry rotates its in-bounds siblings as before', async () => {
    const { consumer, plaintext } = await production();
    const child = await siblingOf(consumer.id, { scopes: ['usage:read', 'keys:read'] });
    const r = await server.post(`/v1/me/keys/${child.id}/rotate`, { gracePeriodSeconds: 30 }, plaintext);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ scopes: ['usage:read', 'keys:read'], expiresAt: null, rotatedFromId: child.id });
    expect(await auditActions(child.id)).toEqual(['key.rotate', 'key.create']);
  });

  it('an admin key changes only admin keys whose scopes it holds, but any consumer key', async () => {
    const manager = await server.post('/v1/admin/admin-keys', { name: 'manager', scopes: ['keys:read', 'keys:write'] }, server.adminKey);
    const broader = await server.post('/v1/admin/admin-keys', { name: 'broader', scopes: ['keys:read', 'keys:write', 'audit:read'] }, server.adminKey);
    for (const [method, path, body] of [
      ['PATCH', `/v1/admin/keys/${broader.body.id}`, { name: 'renamed' }],
      ['POST', `/v1/admin/keys/${broader.body.id}/rotate`, {}],
      ['POST', `/v1/admin/keys/${broader.body.id}/revoke`, {}],
    ] as const) {
      expectRefused(await server.request(method, path, { key: manager.body.key, body }));
    }
    expect(await keyState(broader.body.id)).toMatchObject({ name: 'broader', revokedAt: null, expiresAt: null });
    const { key } = await production();
    expect((await server.post(`/v1/admin/keys/${key.id}/rotate`, {}, manager.body.key)).status).toBe(201);
  });
});
