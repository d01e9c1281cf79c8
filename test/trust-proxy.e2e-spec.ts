import { generateKey } from '../src/auth/key-format';
import { consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';

/**
 * Client addresses behind proxies: only the hops TRUST_PROXY names are believed, so a client that forges
 * X-Forwarded-For passes no allowlist and escapes no failed-authentication limit. The test plays the load
 * balancer: the socket peer (127.0.0.1) appends the address it saw after what the client sent.
 */
describe('TRUST_PROXY', () => {
  const FORGED = '10.1.2.3';
  const CLIENT = '198.51.100.7';

  async function keysFor(server: TestServer) {
    const forged = await consumerWithKey(server, { allowedIps: [`${FORGED}/32`] });
    const real = await consumerWithKey(server, { allowedIps: [`${CLIENT}/32`] });
    return { forged: forged.plaintext, real: real.plaintext };
  }
  const me = (server: TestServer, key: string, xff: string) => server.get('/v1/me', undefined, { authorization: `Bearer ${key}`, 'x-forwarded-for': xff });

  describe.each([
    ['a hop count', '1'],
    ['the proxy address', '127.0.0.1'],
    ['a CIDR list', '10.255.0.0/16, 127.0.0.0/8'],
  ])('given %s (%s)', (_label, trustProxy) => {
    let server: TestServer;
    beforeAll(async () => {
      server = await TestServer.start({ env: { TRUST_PROXY: trustProxy, AUTH_FAILURE_LIMIT: '3' } });
    });
    afterAll(() => server?.stop());

    it('a forged first hop passes no allowlist; the address the proxy saw does', async () => {
      const keys = await keysFor(server);
      const forged = await me(server, keys.forged, `${FORGED}, ${CLIENT}`);
      expect(forged.status).toBe(403);
      expect(forged.body.error).toBe('IP_NOT_ALLOWED');
      expect((await me(server, keys.real, `${FORGED}, ${CLIENT}`)).status).toBe(200);
      // An IPv4-mapped IPv6 address is the IPv4 address.
      expect((await me(server, keys.real, `${FORGED}, ::ffff:${CLIENT}`)).status).toBe(200);
    });

    it('the audit log records the address the proxy saw, not the forged one', async () => {
      const c = await server.request('POST', '/v1/admin/consumers', {
        key: server.adminKey,
        body: { name: 'Audited' },
        headers: { 'x-forwarded-for': `${FORGED}, ${CLIENT}` },
      });
      expect(c.status).toBe(201);
      const log = await server.get(`/v1/admin/audit-log?targetId=${c.body.id}`, server.adminKey);
      expect(log.body.data.map((e: any) => e.ip)).toEqual([CLIENT]);
    });

    it('the failed-authentication limit counts the real client, whatever it forges', async () => {
      const bad = generateKey('tg', 'live').key;
      const statuses: number[] = [];
      for (let i = 1; i <= 5; i++) statuses.push((await me(server, bad, `10.9.9.${i}, 203.0.113.50`)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // The same client written as an IPv4-mapped address is the same client.
      expect((await me(server, bad, `10.9.9.99, ::ffff:203.0.113.50`)).status).toBe(429);
      // Another client behind the same proxy is not affected.
      expect((await me(server, bad, `10.9.9.1, 203.0.113.51`)).status).toBe(401);
    });
  });

  describe('off (the default)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await TestServer.start({ env: { AUTH_FAILURE_LIMIT: '3' } });
    });
    afterAll(() => server?.stop());

    it('believes no X-Forwarded-For at all: the socket address counts', async () => {
      const keys = await keysFor(server);
      expect((await me(server, keys.forged, FORGED)).status).toBe(403);
      expect((await me(server, keys.real, CLIENT)).status).toBe(403);
      const bad = generateKey('tg', 'live').key;
      const statuses: number[] = [];
      for (let i = 1; i <= 4; i++) statuses.push((await me(server, bad, `10.9.9.${i}`)).status);
      // The two refusals above already counted against 127.0.0.1: one more failure, then the limit.
      expect(statuses).toEqual([401, 429, 429, 429]);
    });
  });
});
