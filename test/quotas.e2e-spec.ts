import { adminKeyWith, consumerWithKey } from './support/fixtures';
import { insertPlan, rawSql, type RawSql } from './support/raw-sql';
import { TestServer, USE_MYSQL } from './support/server';

const MINUTE = 60_000;
const month = (offset: number, day = 1): number => {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, day);
};

describe('quotas', () => {
  let server: TestServer;
  let sql: RawSql;
  let verifier: string;
  let db: TestServer['db'];

  beforeAll(async () => {
    server = await TestServer.start({ env: { LOG_LEVEL: 'warn' } });
    db = server.db;
    sql = await rawSql(server.db);
    verifier = await adminKeyWith(server, ['keys:verify'], { rateLimits: [{ name: 'ops', limit: 1_000_000, windowSeconds: 60 }] });
  });

  afterAll(async () => {
    await sql?.close();
    await server?.stop();
    // The server restarted below does not own the database; drop it here.
    await db?.drop();
  });

  /** A consumer on a new plan with these quotas, created at the start of last month (anchor day 1). */
  async function onPlan(quotas: unknown[]) {
    const planId = await insertPlan(sql, { quotas });
    const made = await consumerWithKey(server, { scopes: ['usage:read'] }, { planId });
    // Old enough that the current period is a whole calendar month.
    // (The key has not been used yet, so no cached record holds the old date.)
    await sql.run('UPDATE consumers SET created_at = ? WHERE id = ?', ['2020-01-01 00:00:00.000', made.consumer.id]);
    return made;
  }

  it('answers QUOTA_EXCEEDED once the requests of the period are used up, for all keys of the consumer', async () => {
    const { consumer, plaintext } = await onPlan([{ metric: 'requests', limit: 5, period: 'month' }]);
    const test = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'test', environment: 'test', scopes: [] }, server.adminKey);
    expect(test.status).toBe(201);

    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me/ping', test.body.key)).status).toBe(200);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const me = await server.get('/v1/me', test.body.key);
    expect(me.status).toBe(200);
    const periodEnd = new Date(month(1)).toISOString();
    expect(me.body.quotas).toEqual([{ metric: 'requests', limit: 5, used: 4, remaining: 1, periodEnd }]);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);

    const refused = await server.get('/v1/me/ping', plaintext);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: 'QUOTA_EXCEEDED',
      message: expect.stringContaining(periodEnd),
      statusCode: 429,
      requestId: expect.any(String),
      retryAfter: expect.any(Number),
    });
    const toPeriodEnd = (month(1) - Date.now()) / 1000;
    expect(refused.body.retryAfter).toBeGreaterThan(toPeriodEnd - 5);
    expect(refused.body.retryAfter).toBeLessThan(toPeriodEnd + 5);
    expect(refused.headers.get('retry-after')).toBe(String(refused.body.retryAfter));
    // Rate limit headers are there too: the request passed the rate limits.
    expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=1000;w=60');
    const test429 = await server.get('/v1/me/ping', test.body.key);
    expect(test429.status).toBe(429);
    expect(test429.body.error).toBe('QUOTA_EXCEEDED');

    // Refused requests were not counted.
    const peek = await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, verifier);
    expect(peek.body).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED', quota: { metric: 'requests', used: 5, remaining: 0 } });

    const metrics = await server.get('/metrics');
    expect(metrics.text).toMatch(/tollgate_rate_limit_decisions_total\{decision="limited",kind="quota"\} 2/);
    expect(metrics.text).toMatch(/tollgate_rate_limit_decisions_total\{decision="allowed",kind="quota"\} 5/);
  });

  it('refuses reported events past the quota of their metric, one by one, and never charges a duplicate twice', async () => {
    const { consumer } = await onPlan([{ metric: 'tokens', limit: 100, period: 'month' }]);
    const writer = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'w', scopes: ['usage:write'] }, server.adminKey);
    const plaintext = writer.body.key;
    const event = (idempotencyKey: string, quantity: number) => ({ metric: 'tokens', quantity, idempotencyKey });
    const first = await server.post('/v1/usage/events', { events: [event('a', 60), event('b', 50), event('c', 40)] }, plaintext);
    expect(first.status).toBe(200);
    expect(first.body.results.map((r: any) => r.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(first.body.results[1].error.code).toBe('QUOTA_EXCEEDED');
    const again = await server.post('/v1/usage/events', { events: [event('a', 60), event('d', 1)] }, plaintext);
    expect(again.body.results.map((r: any) => r.status)).toEqual(['duplicate', 'rejected']);
    const me = await server.get('/v1/me', plaintext);
    expect(me.body.quotas).toEqual([expect.objectContaining({ metric: 'tokens', limit: 100, used: 100, remaining: 0 })]);
  });

  it('gives the quota back when the batch is not stored, so that a retried batch is charged once', async () => {
    const { consumer } = await onPlan([{ metric: 'tokens', limit: 100, period: 'month' }]);
    const writer = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'w', scopes: ['usage:write'] }, server.adminKey);
    const plaintext = writer.body.key;
    const batch = { events: [{ metric: 'tokens', quantity: 30, idempotencyKey: 'r1' }, { metric: 'tokens', quantity: 20, idempotencyKey: 'r2' }] };
    // The insert of this consumer's events fails inside the transaction, after the quota was taken.
    const trigger = `quota_refund_${consumer.id.replace(/[^A-Za-z0-9]/g, '')}`;
    await sql.run(
      USE_MYSQL
        ? `CREATE TRIGGER ${trigger} BEFORE INSERT ON usage_events FOR EACH ROW BEGIN IF NEW.consumer_id = '${consumer.id}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF; END`
        : `CREATE TRIGGER ${trigger} BEFORE INSERT ON usage_events WHEN NEW.consumer_id = '${consumer.id}' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    );
    try {
      const failed = await server.post('/v1/usage/events', batch, plaintext);
      expect(failed.status).toBeGreaterThanOrEqual(500);
    } finally {
      await sql.run(`DROP TRIGGER ${trigger}`);
    }
    const retried = await server.post('/v1/usage/events', batch, plaintext);
    expect(retried.body.results.map((r: any) => r.status)).toEqual(['accepted', 'accepted']);
    // Concurrent copies of one batch: one stores it, the others find duplicates, and none charges again.
    const copies = await Promise.all(
      [1, 2, 3, 4].map(() => server.post('/v1/usage/events', { events: [{ metric: 'tokens', quantity: 10, idempotencyKey: 'r3' }] }, plaintext)),
    );
    expect(copies.map((r) => r.body.results[0].status).sort()).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate']);
    const me = await server.get('/v1/me', plaintext);
    expect(me.body.quotas).toEqual([expect.objectContaining({ metric: 'tokens', limit: 100, used: 60, remaining: 40 })]);
  });

  it('does not limit consumers whose plan has no requests quota', async () => {
    const { plaintext } = await onPlan([{ metric: 'sms', limit: 1, period: 'month' }]);
    for (let i = 0; i < 4; i++) expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const me = await server.get('/v1/me', plaintext);
    expect(me.body.quotas).toEqual([{ metric: 'sms', limit: 1, used: 0, remaining: 1, periodEnd: new Date(month(1)).toISOString() }]);
  });

  it('takes the usage recorded in this period (live and test) into account, and not the previous period', async () => {
    const { consumer, key, plaintext } = await onPlan([{ metric: 'requests', limit: 10, period: 'month' }]);
    const bucket = (ms: number) => Math.floor(ms / MINUTE);
    const rows: Array<[number, string, number]> = [
      [bucket(month(0)), 'live', 5],
      [bucket(Date.now() - MINUTE), 'test', 3],
      [bucket(month(0)) - 1, 'live', 1000],
    ];
    for (const [b, env, quantity] of rows) {
      await sql.run('INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity) VALUES (?, ?, ?, ?, ?, ?)', [
        consumer.id,
        b,
        'requests',
        key.id,
        env,
        quantity,
      ]);
    }
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const refused = await server.get('/v1/me/ping', plaintext);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('QUOTA_EXCEEDED');
  });

  it('verifies against the quota of the metric asked for, by cost, and peeks with cost 0', async () => {
    const { plaintext } = await onPlan([
      { metric: 'sms', limit: 10, period: 'month' },
      { metric: 'requests', limit: 1000, period: 'month' },
    ]);
    const verify = (body: Record<string, unknown>) => server.post('/v1/keys/verify', { key: plaintext, ...body }, verifier);
    const periodEnd = new Date(month(1)).toISOString();

    expect((await verify({ metric: 'sms', cost: 4 })).body).toMatchObject({
      valid: true,
      code: 'VALID',
      quota: { metric: 'sms', limit: 10, used: 4, remaining: 6, periodEnd },
    });
    expect((await verify({ metric: 'sms', cost: 4 })).body.quota.used).toBe(8);
    expect((await verify({ metric: 'sms', cost: 4 })).body).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED', quota: { used: 8 } });
    expect((await verify({ metric: 'sms', cost: 0 })).body).toMatchObject({ valid: true, quota: { used: 8, remaining: 2 } });
    expect((await verify({ metric: 'sms', cost: 2 })).body).toMatchObject({ valid: true, quota: { used: 10, remaining: 0 } });
    expect((await verify({ metric: 'sms', cost: 0 })).body).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED' });

    // The default metric is requests, the default cost 1; a metric without a quota reports none.
    expect((await verify({})).body).toMatchObject({ valid: true, quota: { metric: 'requests', used: 1 } });
    expect((await verify({ metric: 'tokens', cost: 500 })).body).toMatchObject({ valid: true, quota: null });
    const me = await server.get('/v1/me', plaintext);
    expect(me.body.quotas).toEqual([
      { metric: 'sms', limit: 10, used: 10, remaining: 0, periodEnd },
      { metric: 'requests', limit: 1000, used: 2, remaining: 998, periodEnd },
    ]);
  });

  it('keeps the count across a restart', async () => {
    const { plaintext } = await onPlan([{ metric: 'requests', limit: 3, period: 'month' }]);
    // Counted by the usage recorder and flushed on SIGTERM; the next process seeds its counter from it.
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    await server.stop('SIGTERM', false);
    server = await TestServer.start({ db, adminKey: server.adminKey, env: { LOG_LEVEL: 'warn' } });
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const refused = await server.get('/v1/me/ping', plaintext);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('QUOTA_EXCEEDED');
  });
});
