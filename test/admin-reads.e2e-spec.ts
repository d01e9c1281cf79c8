import { queryDb } from './support/db';
import { qs } from './support/usage';
import { TestServer, USE_MYSQL } from './support/server';

const MINUTE = 60_000;
const DAY = 86_400_000;
const FROM = Date.parse('2025-01-01T00:00:00.000Z');
const ROWS = 100_001;

/** ROWS rollup rows of one consumer, one request per minute from FROM on (about 69 days), written by SQL. */
const BULK_ROLLUPS = `INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity)
  SELECT ?, ? + a.n * 1000 + b.n, 'requests', 'key_bulk', 'live', 1
    FROM (WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999) SELECT n FROM d) a
   CROSS JOIN (WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999) SELECT n FROM d) b
   WHERE a.n * 1000 + b.n < ${ROWS}`;

/** The same rows in the daily totals and the totals over all consumers, as the flush writes them beside the rollups. */
async function addTotalsOf(server: TestServer, consumerId: string): Promise<void> {
  const day = USE_MYSQL ? 'FLOOR(bucket / 1440)' : 'bucket / 1440';
  await queryDb(
    server.db,
    `INSERT INTO usage_daily_totals (consumer_id, environment, metric, day, quantity)
     SELECT consumer_id, environment, metric, ${day}, SUM(quantity) FROM usage_rollups WHERE consumer_id = ? GROUP BY consumer_id, environment, metric, ${day}`,
    [consumerId],
  );
  for (const [granularity, size] of [
    ['minute', 1],
    ['hour', 60],
    ['day', 1440],
  ] as const) {
    await queryDb(
      server.db,
      `INSERT INTO usage_metric_totals (granularity, bucket, metric, environment, quantity)
       SELECT '${granularity}', bucket - bucket % ${size}, metric, environment, SUM(quantity) FROM usage_rollups WHERE consumer_id = ?
       GROUP BY bucket - bucket % ${size}, metric, environment`,
      [consumerId],
    );
  }
  const days = await queryDb<{ bucket: number; quantity: number }>(server.db, "SELECT bucket, quantity FROM usage_metric_totals WHERE granularity = 'day'");
  const months = new Map<number, number>();
  for (const d of days) {
    const at = new Date(Number(d.bucket) * MINUTE);
    const month = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1) / MINUTE;
    months.set(month, (months.get(month) ?? 0) + Number(d.quantity));
  }
  for (const [bucket, quantity] of months) {
    await queryDb(server.db, "INSERT INTO usage_metric_totals (granularity, bucket, metric, environment, quantity) VALUES ('month', ?, 'requests', 'live', ?)", [bucket, quantity]);
  }
}

describe('expensive admin reads are bounded', () => {
  let server: TestServer;
  let consumerId: string;

  beforeAll(async () => {
    server = await TestServer.start();
    consumerId = (await server.post('/v1/admin/consumers', { name: 'Bulk' }, server.adminKey)).body.id;
    await queryDb(server.db, BULK_ROLLUPS, [consumerId, FROM / MINUTE]);
    await addTotalsOf(server, consumerId);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  describe('usage reads', () => {
    const year = { from: new Date(FROM).toISOString(), to: new Date(FROM + 365 * DAY).toISOString(), granularity: 'day' };

    it('a range holding more stored rows than one answer may read is a 400 that says how to narrow it', async () => {
      for (const path of [
        `/v1/admin/usage?${qs({ ...year, consumerId })}`,
        `/v1/admin/usage?${qs({ ...year, groupBy: 'consumer' })}`,
        `/v1/admin/usage?${qs({ ...year, groupBy: 'key' })}`,
      ]) {
        const r = await server.get(path, server.adminKey);
        expect({ path, status: r.status, error: r.body.error }).toEqual({ path, status: 400, error: 'VALIDATION_FAILED' });
        expect(r.body.message).toMatch(/more than 100000 stored usage rows: narrow it, filter by metric, name a consumer, or group by metric/);
        expect(r.body.details).toEqual([{ field: 'to', message: 'the range holds more than 100000 stored usage rows' }]);
      }
    });

    it('a narrower range, or one metric, answers', async () => {
      const days = 69;
      const narrow = { ...year, to: new Date(FROM + days * DAY).toISOString() };
      for (const extra of [{ consumerId }, { groupBy: 'consumer' }]) {
        const r = await server.get(`/v1/admin/usage?${qs({ ...narrow, ...extra })}`, server.adminKey);
        expect({ extra, status: r.status }).toEqual({ extra, status: 200 });
        expect(r.body.totals).toEqual([{ metric: 'requests', quantity: days * 1440 }]);
      }
      const other = await server.get(`/v1/admin/usage?${qs({ ...year, consumerId, metric: 'tokens' })}`, server.adminKey);
      expect(other.status).toBe(200);
      expect(other.body.totals).toEqual([{ metric: 'tokens', quantity: 0 }]);
    });

    it('usage of all consumers by metric is read from the totals per bucket, whatever the rows behind them', async () => {
      for (const granularity of ['day', 'month']) {
        const r = await server.get(`/v1/admin/usage?${qs({ ...year, granularity })}`, server.adminKey);
        expect({ granularity, status: r.status }).toEqual({ granularity, status: 200 });
        expect(r.body.totals).toEqual([{ metric: 'requests', quantity: ROWS }]);
      }
      // Partial buckets at both ends: the minutes from 00:30 on the first day to 12:15 on the third.
      const from = FROM + 30 * MINUTE;
      const to = FROM + 2 * DAY + 12 * 60 * MINUTE + 15 * MINUTE;
      for (const granularity of ['hour', 'day', 'month']) {
        const r = await server.get(`/v1/admin/usage?${qs({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), granularity })}`, server.adminKey);
        expect({ granularity, status: r.status }).toEqual({ granularity, status: 200 });
        expect(r.body.totals).toEqual([{ metric: 'requests', quantity: (to - from) / MINUTE }]);
        const points = r.body.series[0].points;
        if (granularity === 'day') {
          expect(points).toEqual([
            { start: '2025-01-01T00:00:00.000Z', quantity: 1410 },
            { start: '2025-01-02T00:00:00.000Z', quantity: 1440 },
            { start: '2025-01-03T00:00:00.000Z', quantity: 735 },
          ]);
        }
        if (granularity === 'hour') expect(points[0]).toEqual({ start: '2025-01-01T00:00:00.000Z', quantity: 30 });
      }
    });

    it('refuses to group by consumer or key across more than 1000 consumers with usage in the range', async () => {
      const day = FROM / DAY + 100;
      const ids = Array.from({ length: 1001 }, (_, i) => `cons_many${String(i).padStart(5, '0')}`);
      for (let i = 0; i < ids.length; i += 200) {
        const chunk = ids.slice(i, i + 200);
        await queryDb(
          server.db,
          `INSERT INTO usage_daily_totals (consumer_id, environment, metric, day, quantity) VALUES ${chunk.map(() => "(?, 'live', 'requests', ?, 1)").join(', ')}`,
          chunk.flatMap((id) => [id, day]),
        );
      }
      try {
        const range = { from: new Date(day * DAY).toISOString(), to: new Date((day + 1) * DAY).toISOString() };
        for (const groupBy of ['consumer', 'key']) {
          const r = await server.get(`/v1/admin/usage?${qs({ ...range, groupBy })}`, server.adminKey);
          expect({ groupBy, status: r.status, error: r.body.error }).toEqual({ groupBy, status: 400, error: 'VALIDATION_FAILED' });
          expect(r.body.details).toEqual([{ field: 'groupBy', message: 'more than 1000 consumers have usage in the range' }]);
        }
        const outcomes = await server.get(`/v1/admin/usage/outcomes?${qs({ ...range, granularity: 'day', groupBy: 'key' })}`, server.adminKey);
        expect({ status: outcomes.status, error: outcomes.body.error }).toEqual({ status: 400, error: 'VALIDATION_FAILED' });
        // One consumer less answers.
        await queryDb(server.db, 'DELETE FROM usage_daily_totals WHERE consumer_id = ?', [ids[0]]);
        expect((await server.get(`/v1/admin/usage?${qs({ ...range, groupBy: 'consumer' })}`, server.adminKey)).status).toBe(200);
      } finally {
        await queryDb(server.db, "DELETE FROM usage_daily_totals WHERE consumer_id LIKE 'cons_many%'");
      }
    });
  });

  describe('reads across consumers never scan the rollups', () => {
    const explain = async (sql: string, params: unknown[]) =>
      USE_MYSQL
        ? (await queryDb(server.db, `EXPLAIN ${sql}`, params)).map((p) => `${p.table} ${p.key} ${p.Extra}`).join('\n')
        : (await queryDb(server.db, `EXPLAIN QUERY PLAN ${sql}`, params)).map((p) => p.detail).join('\n');

    it('the rollups have no index by time: nothing but the flush pays for one', async () => {
      const indexes = USE_MYSQL
        ? (await queryDb(server.db, "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'usage_rollups'")).map((r) => r.name)
        : (await queryDb(server.db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_rollups'")).map((r) => r.name);
      expect(indexes.filter((n: string) => !/^(PRIMARY|sqlite_autoindex_)/.test(n))).toEqual([]);
    });

    it("the top consumers are today's and yesterday's daily totals, read from the index by day alone", async () => {
      const today = Math.floor(Date.now() / DAY);
      const plan = await explain(
        'SELECT consumer_id, SUM(quantity) AS q FROM usage_daily_totals WHERE day IN (?, ?) AND metric = ? GROUP BY consumer_id ORDER BY q DESC, consumer_id ASC LIMIT 10',
        [today - 1, today, 'requests'],
      );
      expect(plan).toMatch(USE_MYSQL ? /usage_daily_totals ix_usage_daily_totals_day .*Using index/ : /USING COVERING INDEX ix_usage_daily_totals_day \(day=\? AND metric=\?\)/);
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

    it('refuses a well-formed cursor it did not sign: one that would skip entries, or an altered one of its own', async () => {
      const [head] = await queryDb(server.db, 'SELECT seq, hash FROM audit_head WHERE id = 1');
      const [tenth] = await queryDb(server.db, 'SELECT seq, hash FROM audit_entries WHERE seq = 10');
      const issued = (await walk(5))[0].nextCursor as string;
      const [, , mac] = Buffer.from(issued, 'base64url').toString('utf8').split('.');
      const forged = [
        // "Everything up to the head was checked": the chain before it would never be looked at.
        Buffer.from(`${Number(head.seq)}.${head.hash}`).toString('base64url'),
        Buffer.from(`${Number(tenth.seq)}.${tenth.hash}`).toString('base64url'),
        // A signed cursor moved to another entry keeps a signature that no longer fits.
        Buffer.from(`${Number(tenth.seq)}.${tenth.hash}.${mac}`).toString('base64url'),
        Buffer.from(`${Number(tenth.seq)}.${tenth.hash}.${'0'.repeat(64)}`).toString('base64url'),
      ];
      for (const cursor of forged) {
        const r = await server.get(`/v1/admin/audit-log/verify?${qs({ cursor })}`, server.adminKey);
        expect({ cursor, status: r.status, error: r.body.error, details: r.body.details }).toEqual({
          cursor,
          status: 400,
          error: 'VALIDATION_FAILED',
          details: [{ field: 'cursor', message: 'is not a cursor returned by this API' }],
        });
      }
    });
  });
});
