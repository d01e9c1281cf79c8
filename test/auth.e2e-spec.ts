import { generateKey } from '../src/auth/key-format';
import { dumpAllText } from './support/db';
import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';

describe('key authentication and scopes', () => {
  let server: TestServer;
  const issued: string[] = [];

  beforeAll(async () => {
    server = await TestServer.start({
      env: { BODY_LIMIT_BYTES: '4096', TRUST_PROXY: '1', API_KEY_HEADER: 'IM-API-KEY', AUTH_FAILURE_LIMIT: '100000' },
    });
    issued.push(server.adminKey);
  });

  afterAll(async () => {
    await server.stop();
  });

  async function consumer(keyBody: Record<string, unknown> = {}) {
    const made = await consumerWithKey(server, keyBody);
    issued.push(made.plaintext);
    return made;
  }

  function expectError(r: { status: number; body: any; headers: Headers }, status: number, code: string) {
    expect({ status: r.status, error: r.body?.error }).toEqual({ status, error: code });
    expect(r.body.statusCode).toBe(status);
    expect(typeof r.body.message).toBe('string');
    expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
  }

  describe('which key is presented', () => {
    it('401 MISSING_API_KEY without a key', async () => {
      expectError(await server.get('/v1/me'), 401, 'MISSING_API_KEY');
    });

    it('never reads a key from the query string', async () => {
      const { plaintext } = await consumer();
      expectError(await server.get(`/v1/me?api_key=${plaintext}&key=${plaintext}`), 401, 'MISSING_API_KEY');
    });

    it('accepts X-API-Key, Authorization: Bearer and the configured header', async () => {
      const { plaintext, key } = await consumer();
      const variants: Record<string, string>[] = [{ 'x-api-key': plaintext }, { authorization: `Bearer ${plaintext}` }, { 'IM-API-KEY': plaintext }];
      for (const headers of variants) {
        const r = await server.get('/v1/me', undefined, headers);
        expect(r.status).toBe(200);
        expect(r.body.key.id).toBe(key.id);
      }
    });

    it('401 INVALID_API_KEY for a malformed key', async () => {
      expectError(await server.get('/v1/me', 'not-a-key'), 401, 'INVALID_API_KEY');
      expectError(await server.get('/v1/me', 'tg_live_short'), 401, 'INVALID_API_KEY');
    });

    it('401 INVALID_API_KEY for a bad checksum', async () => {
      const { plaintext } = await consumer();
      const last = plaintext.slice(-1);
      const typo = plaintext.slice(0, -1) + (last === 'a' ? 'b' : 'a');
      expectError(await server.get('/v1/me', typo), 401, 'INVALID_API_KEY');
    });

    it('401 INVALID_API_KEY for a well-formed key that was never issued, also when repeated', async () => {
      const forged = generateKey('tg', 'live').key;
      expectError(await server.get('/v1/me', forged), 401, 'INVALID_API_KEY');
      expectError(await server.get('/v1/me', forged), 401, 'INVALID_API_KEY');
    });
  });

  describe('key state', () => {
    it('401 KEY_EXPIRED once past expiresAt', async () => {
      const { plaintext } = await consumer({ expiresAt: new Date(Date.now() + 1500).toISOString() });
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
      await sleep(1700);
      expectError(await server.get('/v1/me', plaintext), 401, 'KEY_EXPIRED');
    });

    it('401 KEY_REVOKED after revoke, seen by the very next request', async () => {
      const { plaintext, key } = await consumer();
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
      const r = await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey);
      expect(r.status).toBe(200);
      expect(r.body.revokedAt).not.toBeNull();
      expectError(await server.get('/v1/me', plaintext), 401, 'KEY_REVOKED');
      // revoking again is idempotent
      const again = await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey);
      expect(again.body.revokedAt).toBe(r.body.revokedAt);
    });

    it('rotation: new key works, old key works inside its grace and answers KEY_EXPIRED after', async () => {
      const { plaintext, key } = await consumer({ metadata: { team: 'payments' }, rateLimits: [{ name: 'burst', limit: 500, windowSeconds: 1 }] });
      const r = await server.post(`/v1/admin/keys/${key.id}/rotate`, { gracePeriodSeconds: 2 }, server.adminKey);
      expect(r.status).toBe(201);
      issued.push(r.body.key);
      expect(r.body.key).not.toBe(plaintext);
      expect(r.body.rotatedFromId).toBe(key.id);
      expect(r.body).toMatchObject({ consumerId: key.consumerId, scopes: key.scopes, metadata: { team: 'payments' }, rateLimits: key.rateLimits });
      expect((await server.get('/v1/me', r.body.key)).status).toBe(200);
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
      await sleep(2200);
      expectError(await server.get('/v1/me', plaintext), 401, 'KEY_EXPIRED');
      expect((await server.get('/v1/me', r.body.key)).status).toBe(200);
    });

    it('rotation with no grace expires the old key at once; grace is bounded to 7 days', async () => {
      const { plaintext, key } = await consumer();
      expectError(await server.post(`/v1/admin/keys/${key.id}/rotate`, { gracePeriodSeconds: 604801 }, server.adminKey), 400, 'VALIDATION_FAILED');
      const r = await server.post(`/v1/admin/keys/${key.id}/rotate`, {}, server.adminKey);
      expect(r.status).toBe(201);
      issued.push(r.body.key);
      expectError(await server.get('/v1/me', plaintext), 401, 'KEY_EXPIRED');
      expectError(await server.post(`/v1/admin/keys/${key.id}/rotate`, {}, server.adminKey), 409, 'CONFLICT');
    });

    it('403 CONSUMER_SUSPENDED for every key of a suspended consumer, until resumed', async () => {
      const { plaintext, consumer: c } = await consumer();
      expect((await server.post(`/v1/admin/consumers/${c.id}/suspend`, {}, server.adminKey)).body.status).toBe('suspended');
      expectError(await server.get('/v1/me', plaintext), 403, 'CONSUMER_SUSPENDED');
      expect((await server.post(`/v1/admin/consumers/${c.id}/resume`, {}, server.adminKey)).body.status).toBe('active');
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
    });

    it('a scope change applies to the next request', async () => {
      const { plaintext, key } = await consumer();
      expect((await server.get('/v1/me/keys', plaintext)).status).toBe(200);
      const p = await server.patch(`/v1/admin/keys/${key.id}`, { scopes: ['usage:read'] }, server.adminKey);
      expect(p.status).toBe(200);
      expectError(await server.get('/v1/me/keys', plaintext), 403, 'INSUFFICIENT_PERMISSIONS');
    });

    it('an expiry change applies to the next request', async () => {
      const { plaintext, key } = await consumer();
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
      await server.patch(`/v1/admin/keys/${key.id}`, { expiresAt: new Date(Date.now() + 800).toISOString() }, server.adminKey);
      await sleep(1000);
      expectError(await server.get('/v1/me', plaintext), 401, 'KEY_EXPIRED');
    });
  });

  describe('where the key is used from', () => {
    it('403 IP_NOT_ALLOWED outside an IPv4 CIDR allowlist; IPv4-mapped IPv6 matches IPv4 rules', async () => {
      const { plaintext } = await consumer({ allowedIps: ['10.0.0.0/8'] });
      expectError(await server.get('/v1/me', plaintext), 403, 'IP_NOT_ALLOWED');
      expect((await server.get('/v1/me', plaintext, { 'x-forwarded-for': '10.1.2.3' })).status).toBe(200);
      expect((await server.get('/v1/me', plaintext, { 'x-forwarded-for': '::ffff:10.9.8.7' })).status).toBe(200);
      expectError(await server.get('/v1/me', plaintext, { 'x-forwarded-for': '11.0.0.1' }), 403, 'IP_NOT_ALLOWED');
    });

    it('IPv6 CIDR allowlist', async () => {
      const { plaintext } = await consumer({ allowedIps: ['2001:db8::/32'] });
      expect((await server.get('/v1/me', plaintext, { 'x-forwarded-for': '2001:db8:abcd::1' })).status).toBe(200);
      expectError(await server.get('/v1/me', plaintext, { 'x-forwarded-for': '2001:db9::1' }), 403, 'IP_NOT_ALLOWED');
    });

    it('rejects malformed allowlist entries with per-field details', async () => {
      const c = await server.post('/v1/admin/consumers', { name: 'x' }, server.adminKey);
      const r = await server.post(`/v1/admin/consumers/${c.body.id}/keys`, { name: 'k', scopes: [], allowedIps: ['10.0.0.0/33', 'nope'] }, server.adminKey);
      expectError(r, 400, 'VALIDATION_FAILED');
      expect(r.body.details.map((d: any) => d.field)).toEqual(['allowedIps[0]', 'allowedIps[1]']);
    });

    it('publishable keys: 403 ORIGIN_NOT_ALLOWED from other origins, CORS preflight for allowed ones', async () => {
      const { plaintext } = await consumer({ kind: 'publishable', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] });
      const ok = await server.get('/v1/me', plaintext, { origin: 'https://app.example.com' });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expectError(await server.get('/v1/me', plaintext, { origin: 'https://evil.example.com' }), 403, 'ORIGIN_NOT_ALLOWED');
      expectError(await server.get('/v1/me', plaintext), 403, 'ORIGIN_NOT_ALLOWED');
      await sleep(50);
      const pre = await server.request('OPTIONS', '/v1/usage/events', {
        offContract: 'a CORS preflight is answered by the HTTP layer, not an API operation',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, content-type' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(pre.headers.get('access-control-allow-headers')).toContain('x-api-key');
      const bad = await server.request('OPTIONS', '/v1/usage/events', {
        offContract: 'a CORS preflight is answered by the HTTP layer, not an API operation',
        headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
      });
      expectError(bad, 403, 'ORIGIN_NOT_ALLOWED');
    });

    it('publishable keys must name origins and may hold only usage:write and operator scopes', async () => {
      const c = await server.post('/v1/admin/consumers', { name: 'x' }, server.adminKey);
      const noOrigin = await server.post(`/v1/admin/consumers/${c.body.id}/keys`, { kind: 'publishable', name: 'p', scopes: ['usage:write'] }, server.adminKey);
      expectError(noOrigin, 400, 'VALIDATION_FAILED');
      const tooMuch = await server.post(
        `/v1/admin/consumers/${c.body.id}/keys`,
        { kind: 'publishable', name: 'p', scopes: ['usage:read'], allowedOrigins: ['https://a.example.com'] },
        server.adminKey,
      );
      expectError(tooMuch, 400, 'VALIDATION_FAILED');
      const ok = await server.post(
        `/v1/admin/consumers/${c.body.id}/keys`,
        { kind: 'publishable', name: 'p', scopes: ['usage:write', 'orders:read'], allowedOrigins: ['https://a.example.com'] },
        server.adminKey,
      );
      expect(ok.status).toBe(201);
      issued.push(ok.body.key);
    });
  });

  describe('scopes and key kinds', () => {
    it('403 INSUFFICIENT_PERMISSIONS for a missing scope', async () => {
      const { plaintext } = await consumer({ scopes: ['usage:read'] });
      expectError(await server.get('/v1/me/keys', plaintext), 403, 'INSUFFICIENT_PERMISSIONS');
      expect((await server.get('/v1/me', plaintext)).status).toBe(200);
    });

    it('consumer keys never reach admin routes and admin keys never reach /v1/me', async () => {
      const { plaintext } = await consumer({ scopes: ['usage:read', 'keys:read'] });
      expectError(await server.get('/v1/admin/consumers', plaintext), 403, 'INSUFFICIENT_PERMISSIONS');
      expectError(await server.post('/v1/keys/verify', { key: plaintext }, plaintext), 403, 'INSUFFICIENT_PERMISSIONS');
      expectError(await server.get('/v1/me', server.adminKey), 403, 'INSUFFICIENT_PERMISSIONS');
    });

    it('an admin key with consumers:read lists consumers and is refused writes', async () => {
      const reader = await adminKeyWith(server, ['consumers:read']);
      issued.push(reader);
      expect((await server.get('/v1/admin/consumers', reader)).status).toBe(200);
      expectError(await server.post('/v1/admin/consumers', { name: 'n' }, reader), 403, 'INSUFFICIENT_PERMISSIONS');
      expectError(await server.get('/v1/admin/keys', reader), 403, 'INSUFFICIENT_PERMISSIONS');
    });

    it('escalation refused: an admin key cannot create an admin key with more than it holds', async () => {
      const limited = await adminKeyWith(server, ['keys:write', 'consumers:read']);
      issued.push(limited);
      const r = await server.post('/v1/admin/admin-keys', { name: 'more', scopes: ['consumers:write'] }, limited);
      expectError(r, 403, 'INSUFFICIENT_PERMISSIONS');
      const star = await server.post('/v1/admin/admin-keys', { name: 'root', scopes: ['*'] }, limited);
      expectError(star, 403, 'INSUFFICIENT_PERMISSIONS');
      const ok = await server.post('/v1/admin/admin-keys', { name: 'less', scopes: ['consumers:read'] }, limited);
      expect(ok.status).toBe(201);
      issued.push(ok.body.key);
    });

    it('escalation refused: a consumer key creates keys only within its own scopes, environment and lifetime', async () => {
      const { plaintext } = await consumer({ scopes: ['keys:write', 'usage:read'], expiresAt: new Date(Date.now() + 3600_000).toISOString() });
      expectError(await server.post('/v1/me/keys', { name: 'more', scopes: ['usage:write'] }, plaintext), 403, 'INSUFFICIENT_PERMISSIONS');
      expectError(await server.post('/v1/me/keys', { name: 'test', scopes: ['usage:read'], environment: 'test' }, plaintext), 403, 'INSUFFICIENT_PERMISSIONS');
      expectError(
        await server.post('/v1/me/keys', { name: 'late', scopes: ['usage:read'], expiresAt: new Date(Date.now() + 7200_000).toISOString() }, plaintext),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      const ok = await server.post('/v1/me/keys', { name: 'child', scopes: ['usage:read'] }, plaintext);
      expect(ok.status).toBe(201);
      issued.push(ok.body.key);
      expect(ok.body.expiresAt).not.toBeNull();
      expect((await server.get('/v1/me', ok.body.key)).status).toBe(200);
    });
  });

  describe('a consumer manages its own keys', () => {
    it("another consumer's key id is a 404 everywhere", async () => {
      const a = await consumer();
      const b = await consumer();
      const list = await server.get('/v1/me/keys', a.plaintext);
      expect(list.status).toBe(200);
      expect(list.body.data.map((k: any) => k.id)).toEqual([a.key.id]);
      expect(list.body.data[0].key).toBeUndefined();
      expectError(await server.get(`/v1/me/keys/${b.key.id}`, a.plaintext), 404, 'NOT_FOUND');
      expectError(await server.post(`/v1/me/keys/${b.key.id}/revoke`, {}, a.plaintext), 404, 'NOT_FOUND');
      expectError(await server.post(`/v1/me/keys/${b.key.id}/rotate`, {}, a.plaintext), 404, 'NOT_FOUND');
      expect((await server.get('/v1/me', b.plaintext)).status).toBe(200);
    });

    it('rotates and revokes its own keys', async () => {
      const a = await consumer();
      const child = await server.post('/v1/me/keys', { name: 'child', scopes: ['usage:read'] }, a.plaintext);
      issued.push(child.body.key);
      const rotated = await server.post(`/v1/me/keys/${child.body.id}/rotate`, { gracePeriodSeconds: 60 }, a.plaintext);
      expect(rotated.status).toBe(201);
      issued.push(rotated.body.key);
      expect(rotated.body.rotatedFromId).toBe(child.body.id);
      const revoked = await server.post(`/v1/me/keys/${rotated.body.id}/revoke`, {}, a.plaintext);
      expect(revoked.status).toBe(200);
      expectError(await server.get('/v1/me', rotated.body.key), 401, 'KEY_REVOKED');
    });
  });

  describe('request validation', () => {
    it('400 VALIDATION_FAILED with details per field, unknown fields rejected', async () => {
      const r = await server.post('/v1/admin/consumers', { name: '', billingAnchorDay: 29, color: 'red' }, server.adminKey);
      expectError(r, 400, 'VALIDATION_FAILED');
      const fields = r.body.details.map((d: any) => d.field).sort();
      expect(fields).toEqual(expect.arrayContaining(['billingAnchorDay', 'color', 'name']));
    });

    it('400 for a body that is not JSON', async () => {
      const r = await server.request('POST', '/v1/admin/consumers', { key: server.adminKey, rawBody: '{"name":', headers: { 'content-type': 'application/json' } });
      expectError(r, 400, 'VALIDATION_FAILED');
    });

    it('413 PAYLOAD_TOO_LARGE above the configured body limit', async () => {
      const r = await server.post('/v1/admin/consumers', { name: 'x', metadata: { blob: 'x'.repeat(5000) } }, server.adminKey);
      expectError(r, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('404 NOT_FOUND for unknown routes and ids, in the error shape', async () => {
      expectError(await server.offContract('a route that does not exist', 'GET', '/v1/nowhere', { key: server.adminKey }), 404, 'NOT_FOUND');
      expectError(await server.get('/v1/admin/consumers/cons_01M80W674RcB4qKKHZ4zzTu6', server.adminKey), 404, 'NOT_FOUND');
      expectError(await server.get('/v1/admin/keys/key_01M80W674RcB4qKKHZ4zzTu6', server.adminKey), 404, 'NOT_FOUND');
    });

    it('409 CONFLICT for a duplicate externalId', async () => {
      const ext = `ext-${Date.now()}`;
      expect((await server.post('/v1/admin/consumers', { name: 'a', externalId: ext }, server.adminKey)).status).toBe(201);
      expectError(await server.post('/v1/admin/consumers', { name: 'b', externalId: ext }, server.adminKey), 409, 'CONFLICT');
    });
  });

  describe('POST /v1/keys/verify', () => {
    it('always answers 200 with valid and code', async () => {
      const verifier = await adminKeyWith(server, ['keys:verify']);
      issued.push(verifier);
      const { plaintext, key } = await consumer({ scopes: ['orders:read', 'usage:read'] });
      const ok = await server.post('/v1/keys/verify', { key: plaintext, scopes: ['orders:read'] }, verifier);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ valid: true, code: 'VALID', keyId: key.id, consumerId: key.consumerId, scopes: ['orders:read', 'usage:read'] });
      const scope = await server.post('/v1/keys/verify', { key: plaintext, scopes: ['orders:write'] }, verifier);
      expect(scope.body).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS' });
      const unknown = await server.post('/v1/keys/verify', { key: generateKey('tg', 'live').key }, verifier);
      expect(unknown.body).toMatchObject({ valid: false, code: 'INVALID_API_KEY', keyId: null });
      await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey);
      const revoked = await server.post('/v1/keys/verify', { key: plaintext }, verifier);
      expect(revoked.body).toMatchObject({ valid: false, code: 'KEY_REVOKED', keyId: key.id });
    });

    it('needs keys:verify', async () => {
      const reader = await adminKeyWith(server, ['keys:read']);
      issued.push(reader);
      expectError(await server.post('/v1/keys/verify', { key: 'x' }, reader), 403, 'INSUFFICIENT_PERMISSIONS');
    });
  });

  describe('secrets', () => {
    it('plaintext keys appear in no stored column and no log line', async () => {
      await sleep(300);
      const stored = await dumpAllText(server.db);
      const logs = server.logs.join('\n');
      for (const plaintext of issued) {
        expect(stored.includes(plaintext)).toBe(false);
        expect(logs.includes(plaintext)).toBe(false);
      }
      expect(issued.length).toBeGreaterThan(20);
    });
  });
});
