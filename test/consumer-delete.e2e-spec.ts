import { queryDb } from './support/db';
import { consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';

const ORPHANS = {
  rollups: 'SELECT COUNT(*) AS n FROM usage_rollups r WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.id = r.consumer_id)',
  daily: 'SELECT COUNT(*) AS n FROM usage_daily_totals d WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.id = d.consumer_id)',
  outcomes: 'SELECT COUNT(*) AS n FROM key_outcomes o WHERE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = o.key_id)',
};

type Outcomes = { totals: { outcome: string; quantity: number }[] };

const refusalsOf = async (server: TestServer, keyId: string) =>
  Number((await queryDb(server.db, 'SELECT COALESCE(SUM(quantity), 0) AS q FROM key_outcomes WHERE key_id = ?', [keyId]))[0].q);

describe('deleting a consumer whose usage is still buffered', () => {
  it('leaves no usage rows without a consumer once the buffer is written', async () => {
    // Counts stay in the buffer until shutdown: the delete sees no flushed usage.
    const server = await TestServer.start({ env: { USAGE_FLUSH_INTERVAL_MS: '60000' } });
    let stopped = false;
    try {
      const gone = await consumerWithKey(server, { scopes: [] });
      const kept = await consumerWithKey(server, { scopes: [] });
      for (let i = 0; i < 3; i++) {
        expect((await server.get('/v1/me/ping', gone.plaintext)).status).toBe(200);
        expect((await server.get('/v1/me/ping', kept.plaintext)).status).toBe(200);
      }
      const del = await server.request('DELETE', `/v1/admin/consumers/${gone.consumer.id}`, { key: server.adminKey });
      expect(del.status).toBe(204);

      // Shutdown writes the buffer.
      await server.stop('SIGTERM', false);
      stopped = true;
      for (const sql of Object.values(ORPHANS)) expect(Number((await queryDb(server.db, sql))[0].n)).toBe(0);
      // The counts of the consumer that still exists were written.
      const [kept3] = await queryDb(server.db, "SELECT SUM(quantity) AS q FROM usage_rollups WHERE consumer_id = ? AND metric = 'requests'", [kept.consumer.id]);
      expect(Number(kept3.q)).toBe(3);
    } finally {
      if (!stopped) await server.stop('SIGTERM', false);
      await server.db.drop();
    }
  });

  it('writes no refusal counts for keys deleted with their consumer since they were counted', async () => {
    const server = await TestServer.start({ env: { USAGE_FLUSH_INTERVAL_MS: '60000' } });
    let stopped = false;
    try {
      const gone = await consumerWithKey(server, { scopes: [] });
      const kept = await consumerWithKey(server, { scopes: [] });
      for (const c of [gone, kept]) expect((await server.post(`/v1/admin/keys/${c.key.id}/revoke`, {}, server.adminKey)).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        expect((await server.get('/v1/me/ping', gone.plaintext)).status).toBe(401);
        expect((await server.get('/v1/me/ping', kept.plaintext)).status).toBe(401);
      }
      // Only refusals: no usage, so the delete is allowed.
      expect((await server.request('DELETE', `/v1/admin/consumers/${gone.consumer.id}`, { key: server.adminKey })).status).toBe(204);

      await server.stop('SIGTERM', false);
      stopped = true;
      expect(Number((await queryDb(server.db, ORPHANS.outcomes))[0].n)).toBe(0);
      expect(await refusalsOf(server, kept.key.id)).toBe(3);
    } finally {
      if (!stopped) await server.stop('SIGTERM', false);
      await server.db.drop();
    }
  });
});

describe('deleting a consumer whose keys were only refused', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start({ env: { USAGE_FLUSH_INTERVAL_MS: '100' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const range = () => `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 120_000).toISOString()}`;
  const revoked = async () => {
    const report = await server.get<Outcomes>(`/v1/admin/usage/outcomes?${range()}`, server.adminKey);
    expect(report.status).toBe(200);
    return report.body.totals.find((t) => t.outcome === 'KEY_REVOKED')?.quantity ?? 0;
  };

  it('deletes the refusal counts of its keys with it', async () => {
    const gone = await consumerWithKey(server, { scopes: [] });
    const second = await server.post(`/v1/admin/consumers/${gone.consumer.id}/keys`, { name: 'second', scopes: [] }, server.adminKey);
    expect(second.status).toBe(201);
    const kept = await consumerWithKey(server, { scopes: [] });
    for (const id of [gone.key.id, second.body.id, kept.key.id]) {
      expect((await server.post(`/v1/admin/keys/${id}/revoke`, {}, server.adminKey)).status).toBe(200);
    }
    for (const key of [gone.plaintext, gone.plaintext, second.body.key, kept.plaintext]) expect((await server.get('/v1/me/ping', key)).status).toBe(401);
    // The outcomes report counts every key's refusals (this server has only these).
    for (let i = 0; i < 100 && (await revoked()) < 4; i++) await sleep(50);
    expect(await revoked()).toBe(4);

    expect((await server.request('DELETE', `/v1/admin/consumers/${gone.consumer.id}`, { key: server.adminKey })).status).toBe(204);
    expect(await refusalsOf(server, gone.key.id)).toBe(0);
    expect(await refusalsOf(server, second.body.id)).toBe(0);
    expect(await refusalsOf(server, kept.key.id)).toBe(1);
    expect(await revoked()).toBe(1);
    expect(Number((await queryDb(server.db, ORPHANS.outcomes))[0].n)).toBe(0);
  });
});
