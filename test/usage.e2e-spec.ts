import { adminKeyWith, consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';
import { adminUsage, aroundNow, qs, sumOf, waitFor } from './support/usage';

describe('usage: request metering and the usage API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('K authenticated requests that reach a handler are exactly K requests; refused ones are not counted', async () => {
    const { consumer, key, plaintext } = await consumerWithKey(server);
    const reader = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'reader', scopes: ['usage:read'] }, server.adminKey);
    const narrow = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'narrow', scopes: ['keys:read'] }, server.adminKey);
    const revoked = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'gone', scopes: ['usage:read'] }, server.adminKey);
    await server.post(`/v1/admin/keys/${revoked.body.id}/revoke`, {}, server.adminKey);

    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await server.get('/v1/me', plaintext)).status);
    statuses.push((await server.get('/v1/me/usage?granularity=day', plaintext)).status); // no from/to: 400
    statuses.push((await server.get(`/v1/me/usage?${qs({ ...aroundNow(), granularity: 'weekly' })}`, plaintext)).status);
    statuses.push((await server.post('/v1/usage/events', { events: [] }, plaintext)).status);
    statuses.push((await server.get('/v1/me/keys/key_doesnotexist0000000000', plaintext)).status); // handler 404
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 400, 400, 400, 404]);
    const K = statuses.length;

    // Refused by the guards: not counted, for any key.
    expect((await server.get('/v1/admin/consumers', plaintext)).status).toBe(403); // wrong kind
    expect((await server.get(`/v1/me/usage?${qs(aroundNow())}`, narrow.body.key)).status).toBe(403); // missing scope
    expect((await server.get('/v1/me', revoked.body.key)).status).toBe(401);
    expect((await server.get('/v1/me')).status).toBe(401);

    const admin = await waitFor(
      () => adminUsage(server, consumer.id, { metric: 'requests' }),
      (r) => sumOf(r, 'requests', key.id) >= K,
    );
    expect(sumOf(admin, 'requests', key.id)).toBe(K);
    expect(sumOf(admin, 'requests', narrow.body.id)).toBe(0);
    expect(sumOf(admin, 'requests', revoked.body.id)).toBe(0);
    expect(admin.series.find((s: any) => s.keyId === key.id).consumerId).toBe(consumer.id);

    // The consumer's own view agrees (read with another key, whose reads are counted for itself).
    const me = await server.get(`/v1/me/usage?${qs({ ...aroundNow(), groupBy: 'key', granularity: 'minute' })}`, reader.body.key);
    expect(me.status).toBe(200);
    expect(me.body.granularity).toBe('minute');
    expect(sumOf(me.body, 'requests', key.id)).toBe(K);
    expect(me.body.series.every((s: any) => s.consumerId === undefined)).toBe(true);
  });

  it('a verify meters its cost of its metric for the verified key, nothing for the admin key calling it', async () => {
    const { consumer, key, plaintext } = await consumerWithKey(server);
    const verifier = await adminKeyWith(server, ['keys:verify']);
    const verify = (body: Record<string, unknown>) => server.post('/v1/keys/verify', body, verifier);
    expect((await verify({ key: plaintext })).body.valid).toBe(true); // 1 requests
    expect((await verify({ key: plaintext, metric: 'tokens', cost: 250 })).body.valid).toBe(true);
    expect((await verify({ key: plaintext, metric: 'tokens', cost: 0 })).body.valid).toBe(true); // checks only
    expect((await verify({ key: plaintext, scopes: ['orders:read'] })).body.code).toBe('INSUFFICIENT_PERMISSIONS'); // not valid: not metered
    expect((await verify({ key: plaintext, cost: -1 })).status).toBe(400);

    const r = await waitFor(
      () => adminUsage(server, consumer.id),
      (x) => sumOf(x, 'tokens') >= 250,
    );
    expect(sumOf(r, 'tokens', key.id)).toBe(250);
    expect(sumOf(r, 'requests', key.id)).toBe(1);

    // Admin keys belong to no consumer: all usage is consumers' usage.
    const all = await server.get(`/v1/admin/usage?${qs({ ...aroundNow(), groupBy: 'consumer' })}`, server.adminKey);
    expect(all.status).toBe(200);
    expect(all.body.series.every((s: any) => typeof s.consumerId === 'string' && s.consumerId.startsWith('cons_'))).toBe(true);

    // ...but their lastUsedAt is kept.
    const admins = await server.get('/v1/admin/admin-keys?limit=100', server.adminKey);
    const verifierRow = admins.body.data.find((k: any) => k.scopes.length === 1 && k.scopes[0] === 'keys:verify');
    const seen = await waitFor(
      () => server.get(`/v1/admin/keys/${verifierRow.id}`, server.adminKey),
      (x) => x.body.lastUsedAt !== null,
    );
    expect(seen.body.lastUsedAt).not.toBeNull();
  });

  it('keeps lastUsedAt of keys current', async () => {
    const { key, plaintext } = await consumerWithKey(server);
    expect((await server.get(`/v1/admin/keys/${key.id}`, server.adminKey)).body.lastUsedAt).toBeNull();
    const before = Date.now();
    await server.get('/v1/me', plaintext);
    const r = await waitFor(
      () => server.get(`/v1/admin/keys/${key.id}`, server.adminKey),
      (x) => x.body.lastUsedAt !== null,
      5000,
    );
    expect(Date.parse(r.body.lastUsedAt)).toBeGreaterThanOrEqual(before - 5);
    expect(Date.parse(r.body.lastUsedAt)).toBeLessThanOrEqual(Date.now());
  });

  it("never shows another consumer's usage", async () => {
    const a = await consumerWithKey(server);
    const b = await consumerWithKey(server, {}, { name: 'Other' });
    await server.post('/v1/usage/events', { events: [{ metric: 'sms', quantity: 9, idempotencyKey: 'only-a' }] }, a.plaintext);
    const mine = await server.get(`/v1/me/usage?${qs({ ...aroundNow(), groupBy: 'key' })}`, b.plaintext);
    expect(mine.status).toBe(200);
    expect(mine.body.series.every((s: any) => s.keyId === b.key.id)).toBe(true);
    expect(sumOf(mine.body, 'sms')).toBe(0);
    // There is no way to name another consumer on /me.
    expect((await server.get(`/v1/me/usage?${qs({ ...aroundNow(), consumerId: a.consumer.id })}`, b.plaintext)).status).toBe(400);
    const theirs = await adminUsage(server, a.consumer.id);
    expect(sumOf(theirs, 'sms', a.key.id)).toBe(9);
  });

  describe('query validation and access', () => {
    let plaintext: string;
    beforeAll(async () => {
      plaintext = (await consumerWithKey(server)).plaintext;
    });

    it.each([
      ['from missing', { to: '2026-01-02T00:00:00.000Z' }, 'from'],
      ['from not a date', { from: 'yesterday', to: '2026-01-02T00:00:00.000Z' }, 'from'],
      ['30 February', { from: '2026-02-30T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' }, 'from'],
      ['to before from', { from: '2026-01-02T00:00:00.000Z', to: '2026-01-01T00:00:00.000Z' }, 'to'],
      ['minute over 24 hours', { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:01.000Z', granularity: 'minute' }, 'to'],
      ['hour over 31 days', { from: '2026-01-01T00:00:00.000Z', to: '2026-02-02T00:00:00.000Z', granularity: 'hour' }, 'to'],
      ['day over 366 days', { from: '2026-01-01T00:00:00.000Z', to: '2027-01-03T00:00:00.000Z', granularity: 'day' }, 'to'],
      ['month over 10 years', { from: '2020-01-01T00:00:00.000Z', to: '2030-01-02T00:00:00.000Z', granularity: 'month' }, 'to'],
      ['unknown granularity', { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', granularity: 'week' }, 'granularity'],
      ['groupBy consumer on /me', { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', groupBy: 'consumer' }, 'groupBy'],
      ['bad metric', { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z', metric: 'Requests' }, 'metric'],
    ])('400 VALIDATION_FAILED: %s', async (_, params, field) => {
      const r = await server.get(`/v1/me/usage?${qs(params)}`, plaintext);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('VALIDATION_FAILED');
      expect(r.body.details.map((d: any) => d.field)).toContain(field);
    });

    it('says what is too wide and how to fix it', async () => {
      const r = await server.get(`/v1/me/usage?${qs({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-03T00:00:00.000Z', granularity: 'minute' })}`, plaintext);
      expect(r.body.message).toMatch(/minute granularity answers at most 24 hours/);
    });

    it('accepts the widest range of each granularity', async () => {
      // Long ago, so that the answers are empty whatever today is.
      for (const [granularity, to] of [
        ['minute', '2001-01-02T00:00:00.000Z'],
        ['hour', '2001-02-01T00:00:00.000Z'],
        ['day', '2002-01-02T00:00:00.000Z'],
        ['month', '2011-01-01T00:00:00.000Z'],
      ]) {
        const r = await server.get(`/v1/me/usage?${qs({ from: '2001-01-01T00:00:00.000Z', to, granularity })}`, plaintext);
        expect([granularity, r.status]).toEqual([granularity, 200]);
        expect(r.body).toEqual({ granularity, series: [], totals: [] });
      }
    });

    it('400 past 10 000 points, with advice; the same range at a coarser granularity answers', async () => {
      const { plaintext: reporter } = await consumerWithKey(server);
      const to = Math.floor(Date.now() / 60_000) * 60_000;
      const from = to - 23 * 3_600_000;
      const events = [];
      for (let m = 0; m < 1380; m++) {
        for (const metric of ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']) {
          events.push({ metric, quantity: 1, idempotencyKey: `${metric}-${m}`, timestamp: new Date(from + m * 60_000).toISOString() });
        }
      }
      for (let i = 0; i < events.length; i += 1000) {
        const r = await server.post('/v1/usage/events', { events: events.slice(i, i + 1000) }, reporter);
        expect(r.body.results.every((x: any) => x.status === 'accepted')).toBe(true);
      }
      const range = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
      const tooMany = await server.get(`/v1/me/usage?${qs({ ...range, granularity: 'minute' })}`, reporter);
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.error).toBe('VALIDATION_FAILED');
      expect(tooMany.body.message).toMatch(/more than 10000 points: narrow the range, use a coarser granularity/);
      const oneMetric = await server.get(`/v1/me/usage?${qs({ ...range, granularity: 'minute', metric: 'm3' })}`, reporter);
      expect(oneMetric.status).toBe(200);
      expect(oneMetric.body.series[0].points).toHaveLength(1380);
      const hourly = await server.get(`/v1/me/usage?${qs({ ...range, granularity: 'hour' })}`, reporter);
      expect(hourly.status).toBe(200);
      expect(hourly.body.totals.filter((t: any) => t.metric.startsWith('m'))).toEqual(
        ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'].map((metric) => ({ metric, quantity: 1380 })),
      );
    });

    it('admin: usage:read needed, unknown consumer is 404, consumer keys are refused', async () => {
      const range = qs({ from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' });
      const noScope = await adminKeyWith(server, ['consumers:read']);
      expect((await server.get(`/v1/admin/usage?${range}`, noScope)).body.error).toBe('INSUFFICIENT_PERMISSIONS');
      expect((await server.get(`/v1/admin/usage?${range}`, plaintext)).status).toBe(403);
      expect((await server.get(`/v1/me/usage?${range}`, server.adminKey)).status).toBe(403);
      const missing = await server.get(`/v1/admin/usage?${range}&consumerId=cons_01AAAAAAAAAAAAAAAAAAAAAAAA`, server.adminKey);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe('NOT_FOUND');
    });
  });

  it('exposes the buffered writer metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'tollgate_writer_rows_waiting',
      'tollgate_writer_journal_bytes',
      'tollgate_writer_flush_duration_seconds_count',
      'tollgate_writer_written_rows_total',
      'tollgate_writer_failures_total',
      'tollgate_writer_lag_seconds',
      'tollgate_writer_dropped_total',
      'tollgate_writer_unjournaled_total',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} `, 'm'));
    }
    expect(Number(/^tollgate_writer_written_rows_total (\S+)/m.exec(text)![1])).toBeGreaterThan(0);
  });
});
