import { queryDb } from './support/db';
import { HeldRows, HeldSqliteWrites, waitForLockWait, waitUntilStalled } from './support/db-hold';
import { consumerWithKey, sleep } from './support/fixtures';
import { generateKey } from '../src/auth/key-format';
import { type Response, TestDatabase, TestServer, USE_MYSQL } from './support/server';

/**
 * Deleting a consumer never leaves usage rows without it, whatever runs at the same moment: a usage
 * events batch (`POST /v1/usage/events`) or the flush of metered counts. Each test forces one order of
 * the two transactions and checks the documented outcome of that order:
 * - the usage is committed first: the delete answers 409 CONFLICT (the consumer has usage) and the usage stays;
 * - the delete is committed first: it answers 204, the batch 401 INVALID_API_KEY (its key is gone), the
 *   flush leaves the consumer's counts out, and no row names the consumer.
 */

const USAGE_TABLES = ['usage_events', 'usage_rollups', 'usage_daily_totals'];

async function rowsOf(db: TestDatabase, consumerId: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of USAGE_TABLES) out[t] = Number((await queryDb(db, `SELECT COUNT(*) AS n FROM ${t} WHERE consumer_id = ?`, [consumerId]))[0].n);
  return out;
}

async function orphans(db: TestDatabase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of USAGE_TABLES) {
    out[t] = Number((await queryDb(db, `SELECT COUNT(*) AS n FROM ${t} u WHERE NOT EXISTS (SELECT 1 FROM consumers c WHERE c.id = u.consumer_id)`))[0].n);
  }
  return out;
}

const none = Object.fromEntries(USAGE_TABLES.map((t) => [t, 0]));
const batch = (key: string) => [{ metric: 'tokens', quantity: 5, idempotencyKey: key }];
const outcome = (r: Response) => ({ status: r.status, error: r.body?.error, results: r.body?.results?.map((x: { status: string }) => x.status) });

/** True while `p` has not settled. */
const inFlight = (p: Promise<unknown>) => Promise.race([p.then(() => false, () => false), sleep(0).then(() => true)]);

const describeSqlite = USE_MYSQL ? describe.skip : describe;
const describeMysql = USE_MYSQL ? describe : describe.skip;

describeSqlite('deleting a consumer while its usage is being written (SQLite: one write at a time)', () => {
  // On SQLite every transaction runs whole, one after the other (src/database/transactions.ts), and a
  // request's transaction does not yield to other requests: a batch (or a flush) and a delete in flight
  // together run in one of two orders. Each test stalls the server inside a flush, sends its requests,
  // and lets it go on: it reads them in the order they were sent. Every new counter row is flushed at
  // once, which is what starts the stalled flush. (A delete before the flush of a count buffered for the
  // consumer: consumer-delete.e2e-spec.ts.)
  let server: TestServer;
  beforeAll(async () => {
    // (Webhook housekeeping writes once, 5 s after start. Should that write be the one to meet the held lock,
    // it fails after the busy timeout, and the stall this test wanted comes 5 s late, still in its place.)
    server = await TestServer.start({ env: { USAGE_FLUSH_INTERVAL_MS: '60000', USAGE_FLUSH_BATCH_ROWS: '1', LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await server.stop('SIGTERM', false);
    await server.db.drop();
  });

  /**
   * Takes the write lock and meters a request (of `key`, or of a consumer of its own): the flush of that
   * count begins with a write, and the whole server waits there until release().
   */
  async function stall(key?: string): Promise<HeldSqliteWrites> {
    key ??= (await consumerWithKey(server, { scopes: [] })).plaintext;
    const hold = HeldSqliteWrites.take(server.db);
    try {
      expect((await server.get('/v1/me/ping', key)).status).toBe(200);
      expect(await waitUntilStalled(server)).toBe(true);
      return hold;
    } catch (err) {
      hold.release();
      throw err;
    }
  }

  it('a batch and a delete in flight together, batch first: the events are stored, the delete refused', async () => {
    const { consumer, plaintext } = await consumerWithKey(server, { scopes: ['usage:write'] });
    const hold = await stall();
    let events!: Promise<Response>;
    let del!: Promise<Response>;
    try {
      events = server.post('/v1/usage/events', { events: batch('s-1') }, plaintext);
      await sleep(100);
      del = server.request('DELETE', `/v1/admin/consumers/${consumer.id}`, { key: server.adminKey });
      await sleep(100);
      expect([await inFlight(events), await inFlight(del)]).toEqual([true, true]);
    } finally {
      hold.release();
    }
    expect(outcome(await events)).toEqual({ status: 200, error: undefined, results: ['accepted'] });
    expect(outcome(await del)).toMatchObject({ status: 409, error: 'CONFLICT' });
    expect(await rowsOf(server.db, consumer.id)).toMatchObject({ usage_events: 1 });
  });

  it('a batch and a delete in flight together, delete first: the batch is refused and nothing is stored', async () => {
    const { consumer, plaintext } = await consumerWithKey(server, { scopes: ['usage:write'] });
    const hold = await stall();
    let events!: Promise<Response>;
    let del!: Promise<Response>;
    try {
      del = server.request('DELETE', `/v1/admin/consumers/${consumer.id}`, { key: server.adminKey });
      await sleep(100);
      events = server.post('/v1/usage/events', { events: batch('s-2') }, plaintext);
      await sleep(100);
      expect([await inFlight(del), await inFlight(events)]).toEqual([true, true]);
    } finally {
      hold.release();
    }
    expect((await del).status).toBe(204);
    expect(outcome(await events)).toMatchObject({ status: 401, error: 'INVALID_API_KEY' });
    expect(await rowsOf(server.db, consumer.id)).toEqual(none);
  });

  it('a flush and a delete in flight together, flush first: the count is written, the delete refused', async () => {
    const { consumer, plaintext } = await consumerWithKey(server, { scopes: [] });
    // The flush that stalls is the one of this consumer's count.
    const hold = await stall(plaintext);
    let del!: Promise<Response>;
    try {
      del = server.request('DELETE', `/v1/admin/consumers/${consumer.id}`, { key: server.adminKey });
      await sleep(100);
      expect(await inFlight(del)).toBe(true);
    } finally {
      hold.release();
    }
    expect(outcome(await del)).toMatchObject({ status: 409, error: 'CONFLICT' });
    expect(await rowsOf(server.db, consumer.id)).toEqual({ usage_events: 0, usage_rollups: 1, usage_daily_totals: 1 });
  });

  it('after the buffer is written at shutdown, no usage row names a deleted consumer', async () => {
    await server.stop('SIGTERM', false);
    expect(await orphans(server.db)).toEqual(none);
  });
});

describeMysql('deleting a consumer while its usage is being written (MariaDB: row locks)', () => {
  const env = { LOG_LEVEL: 'warn' };
  // A: counts stay buffered (a delete sees only what a batch wrote). B: flushes every 100 ms.
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    // Two instances of one database, started together (migrations and the first admin key are taken under a lock).
    db = await TestDatabase.create();
    const adminKey = generateKey('tg', 'live').key;
    const started = await Promise.allSettled([
      TestServer.start({ db, adminKey, env: { ...env, USAGE_FLUSH_INTERVAL_MS: '60000' } }),
      TestServer.start({ db, adminKey, env: { ...env, USAGE_FLUSH_INTERVAL_MS: '100' } }),
    ]);
    [a, b] = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined!));
    for (const r of started) if (r.status === 'rejected') throw r.reason;
  });
  afterAll(async () => {
    await b?.stop('SIGTERM', false);
    await a?.stop('SIGTERM', false);
    await db?.drop();
  });

  const flushedRows = async (s: TestServer) => Number(/^tollgate_writer_written_rows_total (\S+)$/m.exec((await s.get('/metrics')).text)?.[1] ?? NaN);
  const deleteConsumer = (s: TestServer, id: string) => s.request('DELETE', `/v1/admin/consumers/${id}`, { key: s.adminKey });
  const lockingConsumer = (id: string) => (q: string) => q.includes('`consumers`') && q.includes('FOR UPDATE') && q.includes(id);
  const sharingConsumer = (id: string) => (q: string) => /^SELECT id FROM consumers WHERE id (=|IN)/.test(q) && q.includes('LOCK IN SHARE MODE') && q.includes(id);

  it('a batch holding its consumer makes the delete wait, then refuse; the events are stored', async () => {
    const { consumer, plaintext } = await consumerWithKey(a, { scopes: ['usage:write'] });
    // The batch gets past its consumer check and waits to insert its events.
    const hold = await HeldRows.lock(a.db, 'SELECT seq FROM usage_events WHERE consumer_id = ? FOR UPDATE', [consumer.id]);
    let events!: Promise<Response>;
    let del!: Promise<Response>;
    const waited: boolean[] = [];
    try {
      events = a.post('/v1/usage/events', { events: batch('m-1') }, plaintext);
      waited.push(await waitForLockWait(a.db, (q) => q.startsWith('INSERT INTO usage_events') && q.includes(consumer.id), events));
      del = deleteConsumer(a, consumer.id);
      waited.push(await waitForLockWait(a.db, lockingConsumer(consumer.id), del));
    } finally {
      await hold.release();
    }
    expect(outcome(await events)).toEqual({ status: 200, error: undefined, results: ['accepted'] });
    expect(outcome(await del)).toMatchObject({ status: 409, error: 'CONFLICT' });
    expect(await rowsOf(a.db, consumer.id)).toEqual({ usage_events: 1, usage_rollups: 1, usage_daily_totals: 1 });
    expect(waited).toEqual([true, true]);
  });

  it('a batch arriving while the delete holds the consumer waits, then finds its key gone and stores nothing', async () => {
    const { consumer, plaintext } = await consumerWithKey(a, { scopes: ['usage:write'] });
    expect((await a.get('/v1/me', plaintext)).status).toBe(200);
    // The delete locks the consumer, finds no usage, and waits to delete the keys.
    const hold = await HeldRows.lock(a.db, 'SELECT id FROM api_keys WHERE consumer_id = ? FOR UPDATE', [consumer.id]);
    let events!: Promise<Response>;
    let del!: Promise<Response>;
    const waited: boolean[] = [];
    try {
      del = deleteConsumer(a, consumer.id);
      waited.push(await waitForLockWait(a.db, (q) => q.startsWith('DELETE FROM api_keys') && q.includes(consumer.id), del));
      // The key is still valid here: the batch passes authentication and reaches its transaction.
      events = a.post('/v1/usage/events', { events: batch('m-2') }, plaintext);
      waited.push(await waitForLockWait(a.db, sharingConsumer(consumer.id), events));
    } finally {
      await hold.release();
    }
    expect((await del).status).toBe(204);
    expect(outcome(await events)).toMatchObject({ status: 401, error: 'INVALID_API_KEY' });
    expect(await rowsOf(a.db, consumer.id)).toEqual(none);
    expect(waited).toEqual([true, true]);
  });

  it('a flush holding the consumer makes the delete wait, then refuse; the counts are written', async () => {
    const { consumer, key, plaintext } = await consumerWithKey(b, { scopes: [] });
    // The flush writes the counter, then waits to update the key's lastUsedAt.
    const hold = await HeldRows.lock(b.db, 'SELECT id FROM api_keys WHERE id = ? FOR UPDATE', [key.id]);
    let del!: Promise<Response>;
    const waited: boolean[] = [];
    try {
      const ping = b.get('/v1/me/ping', plaintext);
      expect((await ping).status).toBe(200);
      waited.push(await waitForLockWait(b.db, (q) => q.startsWith('UPDATE api_keys SET last_used_at') && q.includes(key.id)));
      del = deleteConsumer(b, consumer.id);
      waited.push(await waitForLockWait(b.db, lockingConsumer(consumer.id), del));
    } finally {
      await hold.release();
    }
    expect(outcome(await del)).toMatchObject({ status: 409, error: 'CONFLICT' });
    const [r] = await queryDb(b.db, "SELECT SUM(quantity) AS q FROM usage_rollups WHERE consumer_id = ? AND metric = 'requests'", [consumer.id]);
    expect(Number(r.q)).toBe(1);
    expect(waited).toEqual([true, true]);
  });

  it('a flush of counts buffered for a consumer being deleted waits, then leaves them out', async () => {
    const { consumer, plaintext } = await consumerWithKey(b, { scopes: [] });
    const hold = await HeldRows.lock(b.db, 'SELECT id FROM api_keys WHERE consumer_id = ? FOR UPDATE', [consumer.id]);
    let del!: Promise<Response>;
    let flushedBefore = 0;
    const waited: boolean[] = [];
    try {
      del = deleteConsumer(b, consumer.id);
      waited.push(await waitForLockWait(b.db, (q) => q.startsWith('DELETE FROM api_keys') && q.includes(consumer.id), del));
      // Counted while the delete is not yet committed; the next flush asks for the consumer's row.
      flushedBefore = await flushedRows(b);
      expect((await b.get('/v1/me/ping', plaintext)).status).toBe(200);
      waited.push(await waitForLockWait(b.db, sharingConsumer(consumer.id), del));
    } finally {
      await hold.release();
    }
    expect((await del).status).toBe(204);
    // The flush that waited has finished once its batch is counted as flushed.
    let flushed = flushedBefore;
    for (let i = 0; i < 100 && flushed === flushedBefore; i++) {
      await sleep(50);
      flushed = await flushedRows(b);
    }
    expect(flushed).toBeGreaterThan(flushedBefore);
    expect(await rowsOf(b.db, consumer.id)).toEqual(none);
    expect(waited).toEqual([true, true]);
  });

  const sharingKey = (id: string) => (q: string) => /^SELECT id FROM api_keys WHERE id IN/.test(q) && q.includes('LOCK IN SHARE MODE') && q.includes(id);
  const refusals = async (keyId: string) => Number((await queryDb(b.db, 'SELECT COUNT(*) AS n FROM key_outcomes WHERE key_id = ?', [keyId]))[0].n);
  const revokedKey = async () => {
    const { consumer, key, plaintext } = await consumerWithKey(b, { scopes: [] });
    expect((await b.post(`/v1/admin/keys/${key.id}/revoke`, {}, b.adminKey)).status).toBe(200);
    return { consumer, key, plaintext };
  };

  it('a flush of refusals holding their key makes the delete wait, then delete them with the key', async () => {
    const { consumer, key, plaintext } = await revokedKey();
    // The flush reads the key, then waits to write its count.
    const hold = await HeldRows.lock(b.db, 'SELECT key_id FROM key_outcomes WHERE key_id = ? FOR UPDATE', [key.id]);
    let del!: Promise<Response>;
    const waited: boolean[] = [];
    try {
      expect((await b.get('/v1/me/ping', plaintext)).status).toBe(401);
      waited.push(await waitForLockWait(b.db, (q) => q.startsWith('INSERT INTO `key_outcomes`') && q.includes(key.id)));
      del = deleteConsumer(b, consumer.id);
      waited.push(await waitForLockWait(b.db, (q) => q.startsWith('DELETE FROM api_keys') && q.includes(consumer.id), del));
    } finally {
      await hold.release();
    }
    expect((await del).status).toBe(204);
    expect(await refusals(key.id)).toBe(0);
    expect(waited).toEqual([true, true]);
  });

  it('a flush of refusals of a key being deleted waits, then leaves them out', async () => {
    const { consumer, key, plaintext } = await revokedKey();
    const hold = await HeldRows.lock(b.db, 'SELECT id FROM api_keys WHERE consumer_id = ? FOR UPDATE', [consumer.id]);
    let del!: Promise<Response>;
    const waited: boolean[] = [];
    try {
      del = deleteConsumer(b, consumer.id);
      waited.push(await waitForLockWait(b.db, (q) => q.startsWith('DELETE FROM api_keys') && q.includes(consumer.id), del));
      // Refused while the delete is not yet committed; the next flush asks for the key's row.
      expect((await b.get('/v1/me/ping', plaintext)).status).toBe(401);
      waited.push(await waitForLockWait(b.db, sharingKey(key.id), del));
    } finally {
      await hold.release();
    }
    expect((await del).status).toBe(204);
    // The flush that waited goes on once the delete has committed; give it a few flush intervals.
    await sleep(500);
    expect(await refusals(key.id)).toBe(0);
    expect(waited).toEqual([true, true]);
  });

  it('after both instances wrote their buffers at shutdown, no usage row names a deleted consumer', async () => {
    await b.stop('SIGTERM', false);
    await a.stop('SIGTERM', false);
    expect(await orphans(a.db)).toEqual(none);
    const [o] = await queryDb(a.db, 'SELECT COUNT(*) AS n FROM key_outcomes o WHERE NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.id = o.key_id)');
    expect(Number(o.n)).toBe(0);
  });
});
