import { adminKeyWith } from './support/fixtures';
import { queryDb } from './support/db';
import { TestServer } from './support/server';
import { UsageStore } from './support/usage-store';

const DAY = 86_400_000;
const sqlTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

describe('GET /v1/admin/stats', () => {
  let server: TestServer;
  /** Direct SQL on the server's database, to check what was stored and to tamper with it. */
  const db = {
    query: <T = any>(sql: string, params: unknown[] = []) => queryDb<T>(server.db, sql, params),
    q: (name: string) => (server.db.mysqlUrl ? `\`${name}\`` : `"${name}"`),
  };
  let reader: string;
  let narrow: string[];
  const ids: Record<string, string> = {};

  async function key(consumerId: string, name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await server.post(`/v1/admin/consumers/${consumerId}/keys`, { name, scopes: ['usage:read'], ...extra }, server.adminKey);
    expect(r.status).toBe(201);
    return (ids[name] = r.body.id);
  }

  beforeAll(async () => {
    server = await TestServer.start();
    reader = await adminKeyWith(server, ['usage:read']);
    narrow = [await adminKeyWith(server, ['consumers:read']), await adminKeyWith(server, ['keys:read', 'audit:read'])];
    const gone = await server.post('/v1/admin/admin-keys', { name: 'gone', scopes: ['keys:read'] }, server.adminKey);
    await server.post(`/v1/admin/keys/${gone.body.id}/revoke`, {}, server.adminKey);

    const consumer = async (name: string) => (ids[name] = (await server.post('/v1/admin/consumers', { name, externalId: `ext-${name}` }, server.adminKey)).body.id);
    const a = await consumer('A');
    const b = await consumer('B');
    const c = await consumer('C');
    await server.post(`/v1/admin/consumers/${b}/suspend`, {}, server.adminKey);

    await key(a, 'a1');
    await key(a, 'a2');
    await server.post(`/v1/admin/keys/${ids.a2}/revoke`, {}, server.adminKey);
    await key(a, 'a3', { expiresAt: new Date(Date.now() + 3 * DAY).toISOString() });
    await key(a, 'a4', { expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });
    await key(a, 'a5');
    const rotated = await server.post(`/v1/admin/keys/${ids.a5}/rotate`, { gracePeriodSeconds: 0 }, server.adminKey);
    ids.a5new = rotated.body.id;
    await key(b, 'b1');
    await key(c, 'c1', { kind: 'publishable', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] });

    const now = Date.now();
    const setKey = (id: string, col: string, ms: number) => db.query(`UPDATE api_keys SET ${col} = ? WHERE id = ?`, [sqlTime(ms), id]);
    await setKey(ids.a1, 'last_used_at', now - 91 * DAY);
    await setKey(ids.a4, 'last_used_at', now - 10 * DAY);
    await setKey(ids.b1, 'created_at', now - 100 * DAY);
    await setKey(ids.c1, 'created_at', now - 100 * DAY);
    await setKey(ids.c1, 'last_used_at', now - DAY);
    await setKey(ids.a2, 'created_at', now - 200 * DAY);

    const minute = (n: number) => new Date((Math.floor(now / 60_000) - n) * 60_000);
    // The day before yesterday (UTC), just before midnight: in neither the last 24 hours nor today and yesterday.
    const twoDaysAgo = new Date((Math.floor(now / DAY) - 1) * DAY - 60_000);
    const store = await UsageStore.open(server);
    await store.add([
      { consumerId: a, keyId: ids.a1, at: minute(10), quantity: 100 },
      { consumerId: a, keyId: ids.a1, at: minute(1439), quantity: 5 },
      { consumerId: a, keyId: ids.a1, at: minute(1440), quantity: 1000 },
      { consumerId: a, keyId: ids.a1, at: twoDaysAgo, quantity: 7000 },
      { consumerId: a, keyId: ids.a1, at: minute(10), metric: 'tokens', quantity: 9999 },
      { consumerId: c, keyId: ids.c1, at: minute(5), environment: 'test', quantity: 50 },
      { consumerId: b, keyId: ids.b1, at: minute(1), quantity: 20 },
    ]);
    await store.close();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('needs usage:read', async () => {
    for (const key of narrow) {
      const r = await server.get('/v1/admin/stats', key);
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 403, error: 'INSUFFICIENT_PERMISSIONS' });
    }
  });

  it('counts consumers and keys by status and kind', async () => {
    const r = await server.get('/v1/admin/stats', reader);
    expect(r.status).toBe(200);
    expect(r.body.consumers).toEqual({ total: 3, active: 2, suspended: 1 });
    // Admin keys: the first one, reader and the two narrow ones; one revoked.
    expect(r.body.keys).toEqual({
      total: 13,
      active: 10,
      revoked: 2,
      expired: 1,
      byKind: {
        admin: { active: 4, revoked: 1, expired: 0 },
        secret: { active: 5, revoked: 1, expired: 1 },
        publishable: { active: 1, revoked: 0, expired: 0 },
      },
    });
    expect(Date.now() - Date.parse(r.body.generatedAt)).toBeLessThan(60_000);
  });

  it('sums metered requests over the last 1440 minute buckets, and ranks consumers by their requests today and yesterday (UTC)', async () => {
    const r = await server.get('/v1/admin/stats', reader);
    expect(r.body.requestsLast24h).toEqual({ total: 175, live: 125, test: 50 });
    // A's count 24 hours ago is outside the window of the counts but inside yesterday.
    expect(r.body.topConsumers).toEqual([
      { consumerId: ids.A, name: 'A', externalId: 'ext-A', requests: 1105 },
      { consumerId: ids.C, name: 'C', externalId: 'ext-C', requests: 50 },
      { consumerId: ids.B, name: 'B', externalId: 'ext-B', requests: 20 },
    ]);
  });

  it('keeps the top list to 10 consumers', async () => {
    const minute = Math.floor(Date.now() / 60_000);
    const store = await UsageStore.open(server);
    await store.add(
      Array.from({ length: 12 }, (_, i) => ({ consumerId: `cons_extra${String(i).padStart(2, '0')}`, keyId: 'key_extra', at: new Date((minute - 2) * 60_000), quantity: 1 + i })),
    );
    await store.close();
    const r = await server.get('/v1/admin/stats', reader);
    expect(r.body.topConsumers).toHaveLength(10);
    expect(r.body.topConsumers.slice(0, 3).map((t: any) => t.requests)).toEqual([1105, 50, 20]);
    expect(r.body.topConsumers[3]).toEqual({ consumerId: 'cons_extra11', name: null, externalId: null, requests: 12 });
    expect(r.body.requestsLast24h.total).toBe(175 + 78);
  });

  it('lists active keys expiring within 7 days and keys unused for 90 days', async () => {
    const r = await server.get('/v1/admin/stats', reader);
    expect(r.body.keysExpiringSoon.count).toBe(1);
    expect(r.body.keysExpiringSoon.keys).toEqual([
      expect.objectContaining({ id: ids.a3, name: 'a3', kind: 'secret', consumerId: ids.A, start: expect.stringMatching(/^tg_live_/) }),
    ]);
    expect(r.body.keysUnused.count).toBe(2);
    expect(r.body.keysUnused.keys.map((k: any) => k.id)).toEqual([ids.b1, ids.a1]);
    expect(r.body.keysUnused.keys[0]).toMatchObject({ lastUsedAt: null, name: 'b1' });
    expect(JSON.stringify(r.body)).not.toMatch(/"key"|hash/);
  });
});
