import { queryDb } from './support/db';
import { consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';

const ORPHANS = {
  rollups: 'SELECT COUNT(*) AS n FROM usage_rollups r WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.id = r.consumer_id)',
  daily: 'SELECT COUNT(*) AS n FROM usage_daily_totals d WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.id = d.consumer_id)',
};

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
});
