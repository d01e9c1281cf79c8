import { consumerWithKey } from './support/fixtures';
import { TestServer, USE_MYSQL } from './support/server';
import { queryDb as sql } from './support/db';
import { qs, sumOf } from './support/usage';

const MIN = 60_000;
const DAY = 86_400_000;

type Result = { index: number; idempotencyKey: string | null; status: string; error?: { code: string; message: string } };

describe('usage events: POST /v1/usage/events', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  const send = async (key: string, events: unknown[]) => {
    const r = await server.post<{ results: Result[] }>('/v1/usage/events', { events }, key);
    if (r.status !== 200) throw new Error(`events: ${r.status} ${r.text}`);
    return r.body.results;
  };
  const statuses = (results: Result[]) => results.map((r) => (r.status === 'rejected' ? r.error!.code : r.status));
  /** What is committed for a consumer, read from the database itself. */
  const stored = async (consumerId: string, metric: string) => {
    const [events] = await sql(server.db, 'SELECT COUNT(*) AS n, COALESCE(SUM(quantity), 0) AS q FROM usage_events WHERE consumer_id = ? AND metric = ?', [consumerId, metric]);
    const [rollups] = await sql(server.db, 'SELECT COALESCE(SUM(quantity), 0) AS q FROM usage_rollups WHERE consumer_id = ? AND metric = ?', [consumerId, metric]);
    return { events: Number(events.n), quantity: Number(events.q), rollups: Number(rollups.q) };
  };

  it('accepts exactly the good events of a mixed batch, commits them before answering, and says why the others failed', async () => {
    const { consumer, plaintext } = await consumerWithKey(server);
    const now = Date.now();
    const results = await send(plaintext, [
      { metric: 'tokens', quantity: 100, idempotencyKey: 'm-1' },
      { metric: 'Tokens', quantity: 1, idempotencyKey: 'm-2' },
      { metric: 'tokens', quantity: 2.5, idempotencyKey: 'm-3' },
      { metric: 'tokens', quantity: 0, idempotencyKey: 'm-4' },
      { metric: 'tokens', quantity: 1_000_000_001, idempotencyKey: 'm-5' },
      { metric: 'tokens', quantity: 20, idempotencyKey: 'm-6', timestamp: new Date(now - 2 * DAY).toISOString(), properties: { model: 'small' } },
      { metric: 'tokens', quantity: 1, idempotencyKey: 'm-7', timestamp: new Date(now + 10 * MIN).toISOString() },
      { metric: 'tokens', quantity: 1, idempotencyKey: 'm-8', timestamp: new Date(now - 36 * DAY).toISOString() },
      { metric: 'tokens', quantity: 1, idempotencyKey: '' },
      { metric: 'tokens', quantity: 1, idempotencyKey: 'm-10', properties: { big: 'x'.repeat(5000) } },
      { metric: 'tokens', quantity: 1, idempotencyKey: 'm-11', surprise: true },
      42,
      { metric: 'tokens', quantity: 3, idempotencyKey: 'm-13', timestamp: '2026-13-01T00:00:00Z' },
      { metric: 'sms', quantity: 1_000_000_000, idempotencyKey: 'm-14' },
    ]);
    expect(results.map((r) => r.index)).toEqual([...Array(14).keys()]);
    expect(statuses(results)).toEqual([
      'accepted',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'accepted',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'VALIDATION_FAILED',
      'accepted',
    ]);
    expect(results[0]).toEqual({ index: 0, idempotencyKey: 'm-1', status: 'accepted' });
    expect(results[2].error!.message).toMatch(/integer/);
    expect(results[6].error!.message).toMatch(/future/);
    expect(results[11].idempotencyKey).toBeNull();
    // Committed before the answer: no waiting for a flush.
    expect(await stored(consumer.id, 'tokens')).toEqual({ events: 2, quantity: 120, rollups: 120 });
    expect(await stored(consumer.id, 'sms')).toEqual({ events: 1, quantity: 1_000_000_000, rollups: 1_000_000_000 });
    const [row] = await sql(server.db, 'SELECT properties, key_id FROM usage_events WHERE consumer_id = ? AND idempotency_key = ?', [consumer.id, 'm-6']);
    expect(JSON.parse(row.properties)).toEqual({ model: 'small' });
  });

  it('answers a resent event as duplicate and the same key with other content as CONFLICT, counting once', async () => {
    const { consumer, plaintext } = await consumerWithKey(server);
    const ts = new Date(Date.now() - 3 * MIN).toISOString();
    const batch = [
      { metric: 'tokens', quantity: 10, idempotencyKey: 's-1' },
      { metric: 'tokens', quantity: 20, idempotencyKey: 's-2', timestamp: ts, properties: { a: 1, b: [1, 2] } },
    ];
    expect(statuses(await send(plaintext, batch))).toEqual(['accepted', 'accepted']);
    // Resent later, with property keys in another order: the same content.
    expect(statuses(await send(plaintext, [batch[0], { ...batch[1], properties: { b: [1, 2], a: 1 } }]))).toEqual(['duplicate', 'duplicate']);
    const conflicts = await send(plaintext, [
      { ...batch[0], quantity: 11 },
      { ...batch[1], timestamp: new Date(Date.parse(ts) + 1).toISOString() },
      { ...batch[1], properties: { a: 2, b: [1, 2] } },
      { ...batch[1], metric: 'sms' },
    ]);
    expect(statuses(conflicts)).toEqual(['CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT']);
    expect(conflicts[0].error!.message).toMatch(/different content/);
    expect(await stored(consumer.id, 'tokens')).toEqual({ events: 2, quantity: 30, rollups: 30 });
    expect((await stored(consumer.id, 'sms')).events).toBe(0);
  });

  it('handles a key repeated inside one batch', async () => {
    const { consumer, plaintext } = await consumerWithKey(server);
    const e = { metric: 'tokens', quantity: 5, idempotencyKey: 'b-1' };
    const results = await send(plaintext, [e, { ...e }, { ...e, quantity: 6 }, { ...e, idempotencyKey: 'b-2' }, { ...e, quantity: 0 }]);
    expect(statuses(results)).toEqual(['accepted', 'duplicate', 'CONFLICT', 'accepted', 'VALIDATION_FAILED']);
    expect(await stored(consumer.id, 'tokens')).toEqual({ events: 2, quantity: 10, rollups: 10 });
  });

  it('compares idempotency keys byte for byte, per consumer', async () => {
    const a = await consumerWithKey(server);
    const b = await consumerWithKey(server, {}, { name: 'Other' });
    const keys = ['Key-1', 'key-1', 'key-1 ', ' key-1', 'key-1\t', 'ключ', 'e\u0301', '\u00e9', '😀', 'x'.repeat(255)];
    const events = keys.map((idempotencyKey) => ({ metric: 'tokens', quantity: 1, idempotencyKey }));
    expect(statuses(await send(a.plaintext, events))).toEqual(keys.map(() => 'accepted'));
    const again = await send(a.plaintext, events);
    expect(statuses(again)).toEqual(keys.map(() => 'duplicate'));
    expect(again.map((r) => r.idempotencyKey)).toEqual(keys);
    // Another consumer's keys are its own.
    expect(statuses(await send(b.plaintext, events.slice(0, 2)))).toEqual(['accepted', 'accepted']);
    expect((await stored(a.consumer.id, 'tokens')).quantity).toBe(keys.length);
    expect((await stored(b.consumer.id, 'tokens')).quantity).toBe(2);
  });

  it('counts concurrent identical batches once, and concurrent conflicting ones once', async () => {
    const { consumer, plaintext } = await consumerWithKey(server);
    const batch = Array.from({ length: 30 }, (_, i) => ({ metric: 'tokens', quantity: i + 1, idempotencyKey: `c-${i}` }));
    const answers = await Promise.all(Array.from({ length: 5 }, () => send(plaintext, batch)));
    for (let i = 0; i < batch.length; i++) {
      expect(answers.map((a) => a[i].status).sort()).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    }
    expect(await stored(consumer.id, 'tokens')).toEqual({ events: 30, quantity: 465, rollups: 465 });

    const one = Array.from({ length: 20 }, (_, i) => ({ metric: 'sms', quantity: 1, idempotencyKey: `x-${i}` }));
    const two = one.map((e) => ({ ...e, quantity: 2 }));
    const [r1, r2] = await Promise.all([send(plaintext, one), send(plaintext, two)]);
    let expected = 0;
    for (let i = 0; i < one.length; i++) {
      expect([statuses(r1)[i], statuses(r2)[i]].sort()).toEqual(['CONFLICT', 'accepted']);
      expected += r1[i].status === 'accepted' ? 1 : 2;
    }
    expect(await stored(consumer.id, 'sms')).toEqual({ events: 20, quantity: expected, rollups: expected });
  });

  (USE_MYSQL ? it : it.skip)('counts a batch sent to two instances at the same moment once', async () => {
    const sibling = await TestServer.startSibling(server);
    try {
      const { consumer, plaintext } = await consumerWithKey(server);
      let total = 0;
      for (let round = 0; round < 5; round++) {
        const batch = Array.from({ length: 50 }, (_, i) => ({ metric: 'tokens', quantity: 1 + (i % 3), idempotencyKey: `two-${round}-${i}` }));
        total += batch.reduce((a, e) => a + e.quantity, 0);
        const post = (s: TestServer) => s.post<{ results: Result[] }>('/v1/usage/events', { events: batch }, plaintext);
        const [a, b] = await Promise.all([post(server), post(sibling)]);
        expect([a.status, b.status]).toEqual([200, 200]);
        for (let i = 0; i < batch.length; i++) {
          expect([a.body.results[i].status, b.body.results[i].status].sort()).toEqual(['accepted', 'duplicate']);
        }
      }
      expect(await stored(consumer.id, 'tokens')).toEqual({ events: 250, quantity: total, rollups: total });
    } finally {
      await sibling.stop('SIGTERM', false);
    }
  }, 30_000);

  it('rejects events dated in a closed billing period with PERIOD_CLOSED, and still recognises earlier ones', async () => {
    const { consumer, plaintext } = await consumerWithKey(server);
    const now = Date.now();
    const start = new Date(now - 20 * DAY);
    const end = new Date(now - 10 * DAY);
    const inside = new Date(now - 15 * DAY).toISOString();
    const first = { metric: 'tokens', quantity: 7, idempotencyKey: 'p-before-close', timestamp: inside };
    expect(statuses(await send(plaintext, [first]))).toEqual(['accepted']);

    const t = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
    const insertPeriod = (id: string, s: Date, e: Date, status: string) =>
      sql(
        server.db,
        `INSERT INTO billing_periods (id, consumer_id, ${USE_MYSQL ? '`start`, `end`' : '"start", "end"'}, status, plan_id, plan_snapshot, closed_at, created_at) VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)`,
        [id, consumer.id, t(s), t(e), status, status === 'closed' ? t(new Date()) : null, t(new Date())],
      );
    await insertPeriod(`per_${consumer.id.slice(5, 25)}a`, start, end, 'closed');
    await insertPeriod(`per_${consumer.id.slice(5, 25)}b`, end, new Date(now + 20 * DAY), 'open');

    const results = await send(plaintext, [
      first,
      { metric: 'tokens', quantity: 1, idempotencyKey: 'p-inside', timestamp: inside },
      { metric: 'tokens', quantity: 1, idempotencyKey: 'p-start', timestamp: start.toISOString() },
      { metric: 'tokens', quantity: 2, idempotencyKey: 'p-end', timestamp: end.toISOString() },
      { metric: 'tokens', quantity: 3, idempotencyKey: 'p-before', timestamp: new Date(start.getTime() - 1).toISOString() },
      { metric: 'tokens', quantity: 4, idempotencyKey: 'p-now' },
    ]);
    expect(statuses(results)).toEqual(['duplicate', 'PERIOD_CLOSED', 'PERIOD_CLOSED', 'accepted', 'accepted', 'accepted']);
    expect(results[1].error!.message).toMatch(/closed/);
    expect(await stored(consumer.id, 'tokens')).toEqual({ events: 4, quantity: 16, rollups: 16 });
  });

  it('totals for a period equal the sum sent, for every granularity', async () => {
    const { consumer, key, plaintext } = await consumerWithKey(server);
    const to = Math.floor(Date.now() / MIN) * MIN;
    const from = to - 23 * 3_600_000;
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    const events = Array.from({ length: 120 }, (_, i) => ({
      metric: i % 3 ? 'tokens' : 'images',
      quantity: 1 + rand(1_000_000),
      idempotencyKey: `g-${i}`,
      timestamp: new Date(from + rand(to - from)).toISOString(),
    }));
    // On the edges: from is in, to is out.
    events.push({ metric: 'tokens', quantity: 5, idempotencyKey: 'g-from', timestamp: new Date(from).toISOString() });
    events.push({ metric: 'tokens', quantity: 6, idempotencyKey: 'g-last', timestamp: new Date(to - 1).toISOString() });
    const outside = [
      { metric: 'tokens', quantity: 1000, idempotencyKey: 'g-early', timestamp: new Date(from - 1).toISOString() },
      { metric: 'tokens', quantity: 1000, idempotencyKey: 'g-to', timestamp: new Date(to).toISOString() },
    ];
    expect(statuses(await send(plaintext, [...events, ...outside])).every((s) => s === 'accepted')).toBe(true);
    const sent = (metric: string) => events.filter((e) => e.metric === metric).reduce((a, e) => a + e.quantity, 0);

    for (const granularity of ['minute', 'hour', 'day', 'month']) {
      for (const groupBy of ['metric', 'key']) {
        const range = qs({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), granularity, groupBy });
        const me = await server.get(`/v1/me/usage?${range}&metric=tokens`, plaintext);
        expect(me.status).toBe(200);
        expect(me.body.totals).toEqual([{ metric: 'tokens', quantity: sent('tokens') }]);
        expect(sumOf(me.body, 'tokens')).toBe(sent('tokens'));
        const admin = await server.get(`/v1/admin/usage?${range}&consumerId=${consumer.id}`, server.adminKey);
        const totals = Object.fromEntries(admin.body.totals.map((t: any) => [t.metric, t.quantity]));
        expect([granularity, totals.tokens, totals.images]).toEqual([granularity, sent('tokens'), sent('images')]);
        expect(sumOf(admin.body, 'images', groupBy === 'key' ? key.id : undefined)).toBe(sent('images'));
        for (const s of admin.body.series) {
          const starts = s.points.map((p: any) => Date.parse(p.start));
          expect(starts).toEqual([...starts].sort((a: number, b: number) => a - b));
        }
      }
    }
    const hourly = await server.get(`/v1/me/usage?${qs({ from: new Date(from).toISOString(), to: new Date(to).toISOString(), granularity: 'hour', metric: 'tokens' })}`, plaintext);
    for (const p of hourly.body.series[0].points) expect(Date.parse(p.start) % 3_600_000).toBe(0);
  });

  describe('envelope and access', () => {
    let plaintext: string;
    beforeAll(async () => {
      plaintext = (await consumerWithKey(server)).plaintext;
    });
    const raw = (body: string, key = plaintext, type = 'application/json') =>
      server.request('POST', '/v1/usage/events', { key, rawBody: body, headers: { 'content-type': type } });

    it.each([
      ['no events field', '{}'],
      ['events not an array', '{"events": {"metric": "x"}}'],
      ['an empty batch', '{"events": []}'],
      ['a body that is an array', '[{"metric": "tokens"}]'],
      ['a body that is a string', '"events"'],
      ['broken JSON', '{"events": ['],
      ['an unknown envelope field', '{"events": [{"metric": "tokens", "quantity": 1, "idempotencyKey": "e"}], "mode": "x"}'],
    ])('400 VALIDATION_FAILED for %s', async (_, body) => {
      const r = await raw(body);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('VALIDATION_FAILED');
    });

    it('400 for more than 1000 events, with a message that says so', async () => {
      const events = Array.from({ length: 1001 }, (_, i) => ({ metric: 'tokens', quantity: 1, idempotencyKey: `big-${i}` }));
      const r = await server.post('/v1/usage/events', { events }, plaintext);
      expect(r.status).toBe(400);
      expect(r.body.details).toEqual([{ field: 'events', message: 'must hold at most 1000 events; split the batch' }]);
    });

    it('413 PAYLOAD_TOO_LARGE past the body limit', async () => {
      const events = Array.from({ length: 1000 }, (_, i) => ({ metric: 'tokens', quantity: 1, idempotencyKey: `l-${i}`, properties: { pad: 'x'.repeat(1200) } }));
      const r = await server.post('/v1/usage/events', { events }, plaintext);
      expect(r.status).toBe(413);
      expect(r.body.error).toBe('PAYLOAD_TOO_LARGE');
    });

    it('takes 1000 events in one request', async () => {
      const events = Array.from({ length: 1000 }, (_, i) => ({ metric: 'tokens', quantity: 1, idempotencyKey: `k-${i}` }));
      const results = await send(plaintext, events);
      expect(results.filter((r) => r.status === 'accepted')).toHaveLength(1000);
    });

    it('needs usage:write and a consumer key; a publishable key with its origin may report', async () => {
      const body = { events: [{ metric: 'tokens', quantity: 1, idempotencyKey: 'auth-1' }] };
      const { consumer } = await consumerWithKey(server);
      const readOnly = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'ro', scopes: ['usage:read'] }, server.adminKey);
      const r1 = await server.post('/v1/usage/events', body, readOnly.body.key);
      expect([r1.status, r1.body.error]).toEqual([403, 'INSUFFICIENT_PERMISSIONS']);
      const r2 = await server.post('/v1/usage/events', body, server.adminKey);
      expect([r2.status, r2.body.error]).toEqual([403, 'INSUFFICIENT_PERMISSIONS']);
      expect((await server.post('/v1/usage/events', body)).status).toBe(401);
      const pk = await server.post(
        `/v1/admin/consumers/${consumer.id}/keys`,
        { name: 'web', kind: 'publishable', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] },
        server.adminKey,
      );
      expect(pk.status).toBe(201);
      const r3 = await server.post('/v1/usage/events', body, pk.body.key, { origin: 'https://app.example.com' });
      expect(r3.status).toBe(200);
      expect(r3.body.results[0].status).toBe('accepted');
      expect(await stored(consumer.id, 'tokens')).toEqual({ events: 1, quantity: 1, rollups: 1 });
    });
  });
});
