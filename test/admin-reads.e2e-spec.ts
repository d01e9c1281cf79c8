import { queryDb } from './support/db';
import { qs } from './support/usage';
import { TestServer, USE_MYSQL } from './support/server';

const MINUTE = 60_000;
const FROM = Date.parse('2025-01-01T00:00:00.000Z');
const ROWS = 300_001;

/** ROWS rollup rows of one consumer, one per minute from FROM on (about 208 days), written by SQL. */
const BULK_ROLLUPS = `INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity)
  SELECT ?, ? + a.n * 1000 + b.n, 'requests', 'key_bulk', 'live', 1
    FROM (WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999) SELECT n FROM d) a
   CROSS JOIN (WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999) SELECT n FROM d) b
   WHERE a.n * 1000 + b.n < ${ROWS}`;

describe('expensive admin reads are bounded', () => {
  let server: TestServer;
  let consumerId: string;

  beforeAll(async () => {
    server = await TestServer.start();
    consumerId = (await server.post('/v1/admin/consumers', { name: 'Bulk' }, server.adminKey)).body.id;
    await queryDb(server.db, BULK_ROLLUPS, [consumerId, FROM / MINUTE]);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  describe('usage reads', () => {
    const year = { from: new Date(FROM).toISOString(), to: new Date(FROM + 365 * 86_400_000).toISOString(), granularity: 'day' };

    it('a range holding more stored rows than one answer may read is a 400 that says how to narrow it', async () => {
      for (const path of [`/v1/admin/usage?${qs(year)}`, `/v1/admin/usage?${qs({ ...year, consumerId })}`, `/v1/admin/usage?${qs({ ...year, groupBy: 'consumer' })}`]) {
        const r = await server.get(path, server.adminKey);
        expect({ path, status: r.status, error: r.body.error }).toEqual({ path, status: 400, error: 'VALIDATION_FAILED' });
        expect(r.body.message).toMatch(/more than 300000 stored usage rows: narrow it, filter by metric, or name a consumer/);
        expect(r.body.details).toEqual([{ field: 'to', message: 'the range holds more than 300000 stored usage rows' }]);
      }
    });

    it('a narrower range, or one metric, answers', async () => {
      const days = 200;
      const narrow = { ...year, to: new Date(FROM + days * 86_400_000).toISOString() };
      const r = await server.get(`/v1/admin/usage?${qs(narrow)}`, server.adminKey);
      expect(r.status).toBe(200);
      expect(r.body.totals).toEqual([{ metric: 'requests', quantity: days * 1440 }]);
      const other = await server.get(`/v1/admin/usage?${qs({ ...year, metric: 'tokens' })}`, server.adminKey);
      expect(other.status).toBe(200);
      expect(other.body.totals).toEqual([{ metric: 'tokens', quantity: 0 }]);
    });
  });

  describe('stats', () => {
    it("reads the last 24 hours' rollups through the index on the bucket, not the whole table", async () => {
      // The statement GET /v1/admin/stats runs for its request counts, as the database plans it.
      const sql = "SELECT environment, SUM(quantity) AS q FROM usage_rollups WHERE metric = 'requests' AND bucket > ? AND bucket <= ? GROUP BY environment";
      const now = Math.floor(Date.now() / MINUTE);
      if (USE_MYSQL) {
        const plan = await queryDb(server.db, `EXPLAIN ${sql}`, [now - 1440, now]);
        expect(plan.map((p) => ({ key: p.key, extra: p.Extra }))).toEqual([{ key: 'ix_usage_rollups_bucket', extra: expect.stringMatching(/Using index/) }]);
      } else {
        const plan = await queryDb(server.db, `EXPLAIN QUERY PLAN ${sql}`, [now - 1440, now]);
        expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING COVERING INDEX ix_usage_rollups_bucket \(bucket>\? AND bucket<\?\)/);
      }
      const r = await server.get('/v1/admin/stats', server.adminKey);
      expect(r.status).toBe(200);
      expect(r.body.requestsLast24h.total).toBe(0);
    });
  });

  describe('audit chain check', () => {
    beforeAll(async () => {
      for (let i = 0; i < 12; i++) await server.post('/v1/admin/consumers', { name: `audited ${i}` }, server.adminKey);
    });

    async function walk(limit: number) {
      const pages: any[] = [];
      let cursor: string | undefined;
      do {
        const r = await server.get(`/v1/admin/audit-log/verify?${qs({ limit: String(limit), cursor })}`, server.adminKey);
        expect(r.status).toBe(200);
        pages.push(r.body);
        cursor = r.body.nextCursor ?? undefined;
      } while (cursor && pages.length < 100);
      return pages;
    }

    it('checks at most `limit` entries per request and continues from the cursor to the head', async () => {
      const whole = (await server.get('/v1/admin/audit-log/verify', server.adminKey)).body;
      expect(whole).toMatchObject({ valid: true, nextCursor: null });
      expect(whole.checked).toBeGreaterThan(12);
      const pages = await walk(5);
      expect(pages.length).toBe(Math.ceil(whole.checked / 5));
      pages.slice(0, -1).forEach((p, i) => expect(p).toMatchObject({ valid: true, checked: 5 * (i + 1), firstInvalid: null, nextCursor: expect.any(String) }));
      expect(pages[pages.length - 1]).toEqual({ ...whole });
    });

    it('finds an altered entry on the page that holds it', async () => {
      const [victim] = await queryDb(server.db, 'SELECT seq, id, action FROM audit_entries WHERE seq = 12');
      await queryDb(server.db, "UPDATE audit_entries SET action = 'consumer.tampered' WHERE seq = 12");
      try {
        const pages = await walk(5);
        expect(pages.length).toBe(3);
        expect(pages.slice(0, 2).every((p) => p.valid)).toBe(true);
        expect(pages[2]).toMatchObject({ valid: false, checked: 11, nextCursor: null, firstInvalid: { seq: 12, id: victim.id, reason: expect.stringMatching(/action/) } });
      } finally {
        await queryDb(server.db, 'UPDATE audit_entries SET action = ? WHERE seq = 12', [victim.action]);
      }
    });

    it('refuses a limit above 10000 and a cursor it did not return', async () => {
      for (const q of [{ limit: '10001' }, { limit: '0' }, { cursor: 'bm90LWEtY3Vyc29y' }]) {
        const r = await server.get(`/v1/admin/audit-log/verify?${qs(q)}`, server.adminKey);
        expect({ q, status: r.status, error: r.body.error }).toEqual({ q, status: 400, error: 'VALIDATION_FAILED' });
      }
    });
  });
});
