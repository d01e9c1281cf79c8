import { HeldSqliteWrites } from './support/db-hold';
import { consumerWithKey } from './support/fixtures';
import { insertPlan, rawSql, type RawSql } from './support/raw-sql';
import { type Response, TestServer, USE_MYSQL } from './support/server';

const REDIS_URL = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * SQLite has one connection: a write issued outside the transaction runner while a transaction is open
 * would join that transaction and vanish with its rollback. Here a usage batch holds a transaction open
 * across many quota round trips to Redis and then fails, while GET routes open billing periods.
 */
describe('writes outside a transaction', () => {
  let server: TestServer;
  let sql: RawSql;

  beforeAll(async () => {
    server = await TestServer.start({
      env: { LOG_LEVEL: 'error', REDIS_URL, REDIS_PREFIX: `tg-e2e-iso-${Math.random().toString(36).slice(2, 10)}:` },
    });
    sql = await rawSql(server.db);
  });

  afterAll(async () => {
    await sql?.close();
    await server?.stop();
  });

  it('survive a concurrent transaction that rolls back', async () => {
    const planId = await insertPlan(sql, { quotas: [{ metric: 'tokens', limit: 1_000_000_000, period: 'month' }] });
    const { consumer: writer } = await consumerWithKey(server, { scopes: [] }, { planId });
    const key = await server.post(`/v1/admin/consumers/${writer.id}/keys`, { name: 'w', scopes: ['usage:write'] }, server.adminKey);
    const readers = [];
    for (let i = 0; i < 8; i++) readers.push((await consumerWithKey(server, { scopes: [] })).consumer.id);

    const trigger = `iso_fail_${writer.id.replace(/[^A-Za-z0-9]/g, '')}`;
    await sql.run(
      USE_MYSQL
        ? `CREATE TRIGGER ${trigger} BEFORE INSERT ON usage_events FOR EACH ROW BEGIN IF NEW.consumer_id = '${writer.id}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END`
        : `CREATE TRIGGER ${trigger} BEFORE INSERT ON usage_events WHEN NEW.consumer_id = '${writer.id}' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    );
    const opened: string[] = [];
    try {
      // Each event takes quota with its own Redis call inside the transaction: it stays open for a while.
      const events = Array.from({ length: 1000 }, (_, i) => ({ metric: 'tokens', quantity: 1, idempotencyKey: `e${i}` }));
      const failing = server.post('/v1/usage/events', { events }, key.body.key);
      // Meanwhile, GET routes open each reader's first billing period.
      const lists = readers.map(async (id, i) => {
        await new Promise((r) => setTimeout(r, 5 + i * 10));
        const list = await server.get(`/v1/admin/billing/periods?consumerId=${id}`, server.adminKey);
        expect(list.status).toBe(200);
        expect(list.body.data).toHaveLength(1);
        opened.push(list.body.data[0].id);
      });
      const [failed] = await Promise.all([failing, ...lists]);
      expect((failed as { status: number }).status).toBeGreaterThanOrEqual(500);
    } finally {
      await sql.run(`DROP TRIGGER ${trigger}`);
    }
    // Every period handed out is still there.
    for (const id of opened) {
      const got = await server.get(`/v1/admin/billing/periods/${id}`, server.adminKey);
      expect({ id, status: got.status }).toEqual({ id, status: 200 });
    }
  });
});

const describeSqlite = USE_MYSQL ? describe.skip : describe;

/**
 * Another process (the CLI, a backup, a second connection of any kind) holding SQLite's write lock: a
 * transaction that read before its first write could not take the lock once it wanted it, and SQLite
 * answered SQLITE_BUSY at once (503). Transactions take the write lock when they begin, so they wait for
 * it like any single write, up to the busy timeout (5 s).
 */
describeSqlite('a transaction while another process holds the SQLite write lock', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start({ env: { LOG_LEVEL: 'error', USAGE_FLUSH_INTERVAL_MS: '60000' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** Sends `request` while the write lock is held for `ms`; answers with the response and how long it took. */
  async function whileHeld(ms: number, request: () => Promise<Response>): Promise<{ status: number; error?: string; tookMs: number }> {
    const hold = HeldSqliteWrites.take(server.db);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      hold.release();
    };
    const timer = setTimeout(release, ms);
    const started = Date.now();
    try {
      const r = await request();
      return { status: r.status, error: r.body?.error, tookMs: Date.now() - started };
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  it('a usage events batch (reads its consumer, then writes) waits for the lock and is stored', async () => {
    const { plaintext } = await consumerWithKey(server, { scopes: ['usage:write'] });
    expect((await server.get('/v1/me', plaintext)).status).toBe(200);
    const events = [{ metric: 'tokens', quantity: 5, idempotencyKey: 'held-1' }];
    const r = await whileHeld(1000, () => server.post('/v1/usage/events', { events }, plaintext));
    expect(r).toMatchObject({ status: 200 });
    expect(r.tookMs).toBeGreaterThanOrEqual(800);
  });

  it('a consumer delete (reads, then deletes) waits for the lock and deletes', async () => {
    const { consumer } = await consumerWithKey(server, { scopes: [] });
    const r = await whileHeld(1000, () => server.request('DELETE', `/v1/admin/consumers/${consumer.id}`, { key: server.adminKey }));
    expect(r).toMatchObject({ status: 204 });
    expect((await server.get(`/v1/admin/consumers/${consumer.id}`, server.adminKey)).status).toBe(404);
  });

  it('answers 503 once the busy timeout has passed, and writes again after', async () => {
    const { consumer } = await consumerWithKey(server, { scopes: [] });
    const r = await whileHeld(6500, () => server.request('DELETE', `/v1/admin/consumers/${consumer.id}`, { key: server.adminKey }));
    expect(r).toMatchObject({ status: 503, error: 'SERVICE_UNAVAILABLE' });
    expect(r.tookMs).toBeGreaterThanOrEqual(4500);
    expect((await server.request('DELETE', `/v1/admin/consumers/${consumer.id}`, { key: server.adminKey })).status).toBe(204);
  });
});
