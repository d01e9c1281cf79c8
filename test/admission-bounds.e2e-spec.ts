import { connect } from 'node:net';
import { adminKeyWith, consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';

/**
 * Sends the head of a request and the first bytes of a body it never finishes; resolves with the raw
 * answer the server gives meanwhile (or what it gave by `timeoutMs`, '' if nothing).
 */
function sendUnfinished(url: string, method: string, path: string, headers: Record<string, string>, timeoutMs = 3000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('error', (err) => (answer ? done() : reject(err)));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      // The whole answer: a head and a body of the length it declares.
      const end = answer.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(answer)?.[1];
      if (end !== -1 && length !== undefined && answer.length >= end + 4 + Number(length)) done();
    });
    socket.on('close', done);
    const head = Object.entries({ host: `${hostname}:${port}`, 'content-type': 'application/json', 'content-length': '900000', ...headers })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    // A deep array that is still arriving.
    socket.write(`${method} ${path} HTTP/1.1\r\n${head}\r\n${'['.repeat(50_000)}`);
  });
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}

function bodyOf(raw: string): any {
  const end = raw.indexOf('\r\n\r\n');
  return end === -1 ? undefined : JSON.parse(raw.slice(end + 4));
}

describe('admission bounds', () => {
  let server: TestServer;
  let gatewayKey: string;

  beforeAll(async () => {
    server = await TestServer.start({ env: { LOG_LEVEL: 'warn' } });
    gatewayKey = await adminKeyWith(server, ['keys:verify']);
  });

  afterAll(async () => {
    await server?.stop();
  });

  describe('POST /v1/keys/verify answers what a direct call to a consumer route would', () => {
    it('an admin key (audit:read, or the gateway key itself) is not valid: INSUFFICIENT_PERMISSIONS, as on /v1/me/ping', async () => {
      const auditKey = await adminKeyWith(server, ['audit:read']);
      for (const key of [auditKey, gatewayKey]) {
        const direct = await server.get('/v1/me/ping', key);
        expect(direct.status).toBe(403);
        expect(direct.body.error).toBe('INSUFFICIENT_PERMISSIONS');
        const v = await server.post('/v1/keys/verify', { key }, gatewayKey);
        expect(v.status).toBe(200);
        expect(v.body).toMatchObject({ valid: false, code: 'INSUFFICIENT_PERMISSIONS', kind: 'admin', environment: 'live' });
      }
    });

    it("the answer carries the key's environment and kind: a test key is told apart from a live one", async () => {
      const live = await consumerWithKey(server, { environment: 'live' });
      const test = await consumerWithKey(server, { environment: 'test' });
      const pub = await consumerWithKey(server, { kind: 'publishable', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] });
      const l = await server.post('/v1/keys/verify', { key: live.plaintext }, gatewayKey);
      const t = await server.post('/v1/keys/verify', { key: test.plaintext }, gatewayKey);
      const p = await server.post('/v1/keys/verify', { key: pub.plaintext, origin: 'https://app.example.com' }, gatewayKey);
      expect(l.body).toMatchObject({ valid: true, code: 'VALID', kind: 'secret', environment: 'live' });
      expect(t.body).toMatchObject({ valid: true, code: 'VALID', kind: 'secret', environment: 'test' });
      expect(p.body).toMatchObject({ valid: true, code: 'VALID', kind: 'publishable', environment: 'live' });
      const unknown = await server.post('/v1/keys/verify', { key: 'tg_live_notakeyatall' }, gatewayKey);
      expect(unknown.body).toMatchObject({ valid: false, code: 'INVALID_API_KEY', kind: null, environment: null });
    });
  });

  describe('a request with a missing or invalid key is refused before its body is read', () => {
    it('no key: 401 while the body is still arriving', async () => {
      const started = Date.now();
      const raw = await sendUnfinished(server.url, 'POST', '/v1/admin/consumers', {});
      expect(statusOf(raw)).toBe(401);
      expect(bodyOf(raw).error).toBe('MISSING_API_KEY');
      expect(Date.now() - started).toBeLessThan(2500);
    });

    it('an invalid, a revoked and an unknown key: 401 while the body is still arriving', async () => {
      const { key, plaintext } = await consumerWithKey(server, { scopes: ['usage:write'] });
      expect((await server.post(`/v1/admin/keys/${key.id}/revoke`, {}, server.adminKey)).status).toBe(200);
      for (const [presented, code] of [
        ['tg_live_garbage', 'INVALID_API_KEY'],
        [plaintext, 'KEY_REVOKED'],
      ]) {
        const raw = await sendUnfinished(server.url, 'POST', '/v1/usage/events', { 'x-api-key': presented });
        expect(statusOf(raw)).toBe(401);
        expect(bodyOf(raw).error).toBe(code);
      }
    });

    it('a valid key is read as before: the server waits for its body', async () => {
      const raw = await sendUnfinished(server.url, 'POST', '/v1/admin/consumers', { 'x-api-key': server.adminKey }, 1000);
      expect(raw).toBe('');
    });

    it('forward auth: a missing gateway key is 500 GATEWAY_KEY_INVALID before any body is read', async () => {
      const raw = await sendUnfinished(server.url, 'POST', '/v1/keys/authorize', {});
      expect(statusOf(raw)).toBe(500);
      expect(bodyOf(raw).error).toBe('GATEWAY_KEY_INVALID');
    });

    it('public routes are unaffected, whatever key header they carry', async () => {
      expect((await server.get('/v1/ping', 'tg_live_garbage')).status).toBe(200);
      expect((await server.get('/health/live', 'tg_live_garbage')).status).toBe(200);
      expect((await server.get('/v1/ping')).status).toBe(200);
    });
  });
});
