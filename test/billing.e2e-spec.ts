import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';
import { UsageStore } from './support/usage-store';

// jest reads testTimeout from the root config only, not from a project's: these suites start servers.
jest.setTimeout(60_000);

/** The per_unit example of docs/billing.md. */
const DOC_PER_UNIT = {
  name: 'Docs per_unit',
  currency: 'USD',
  baseFeeMinor: 4900,
  prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 }],
};

/** One plan with the package, graduated and volume examples of docs/billing.md next to per_unit. */
const DOC_ALL_MODELS = {
  name: 'Docs, every model',
  currency: 'USD',
  baseFeeMinor: 4900,
  prices: [
    { metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 },
    { metric: 'sms', model: 'package', packageSize: 1000, packagePrice: '5.00', includedUnits: 500 },
    {
      metric: 'tokens',
      model: 'graduated',
      tiers: [
        { upTo: 1000, unitPrice: '0.01' },
        { upTo: 5000, unitPrice: '0.008', flatFee: '2.00' },
        { upTo: null, unitPrice: '0.005' },
      ],
    },
    {
      metric: 'seats',
      model: 'volume',
      tiers: [
        { upTo: 1000, unitPrice: '0.01' },
        { upTo: 5000, unitPrice: '0.008', flatFee: '5.00' },
        { upTo: null, unitPrice: '0.005', flatFee: '10.00' },
      ],
    },
  ],
};

const DOC_JPY = {
  name: 'Docs JPY',
  currency: 'JPY',
  baseFeeMinor: 5000,
  prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.05' }],
};

const CREATED = '2025-03-15T10:00:00.000Z';
const INVOICE_KEYS = ['consumerId', 'currency', 'id', 'lines', 'periodEnd', 'periodId', 'periodStart', 'status', 'totalMinor'];

describe('billing periods, close and invoices', () => {
  let server: TestServer;
  let store: UsageStore;

  beforeAll(async () => {
    server = await TestServer.start();
    store = await UsageStore.open(server);
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  async function plan(body: object): Promise<string> {
    const r = await server.post('/v1/admin/plans', body, server.adminKey);
    if (r.status !== 201) throw new Error(`plan: ${r.status} ${r.text}`);
    return r.body.id;
  }

  /** A consumer created (as far as billing knows) on 15 March 2025, with a live consumer key. */
  async function pastConsumer(planId: string | null, extra: Record<string, unknown> = {}) {
    const made = await consumerWithKey(server, {}, { planId, ...extra });
    await store.backdateConsumer(made.consumer.id, CREATED);
    return made;
  }

  async function periodOf(consumerId: string, month: string) {
    const r = await server.get(`/v1/admin/billing/periods?consumerId=${consumerId}&period=${month}`, server.adminKey);
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(1);
    return r.body.data[0];
  }

  it('opens contiguous monthly periods from creation, each with a plan snapshot', async () => {
    const planId = await plan(DOC_PER_UNIT);
    const { consumer } = await pastConsumer(planId);
    const all: { start: string; end: string; status: string; plan: { id: string; baseFeeMinor: number } }[] = [];
    let cursor = '';
    do {
      const r = await server.get(`/v1/admin/billing/periods?consumerId=${consumer.id}&limit=100${cursor ? `&cursor=${cursor}` : ''}`, server.adminKey);
      expect(r.status).toBe(200);
      all.push(...r.body.data);
      cursor = r.body.nextCursor ?? '';
    } while (cursor);
    all.sort((a, b) => a.start.localeCompare(b.start));
    expect(all[0]).toMatchObject({ start: CREATED, end: '2025-04-01T00:00:00.000Z', status: 'open' });
    expect(all[1]).toMatchObject({ start: '2025-04-01T00:00:00.000Z', end: '2025-05-01T00:00:00.000Z' });
    for (let i = 1; i < all.length; i++) expect(all[i].start).toBe(all[i - 1].end);
    const last = all[all.length - 1];
    expect(new Date(last.start).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(last.end).getTime()).toBeGreaterThan(Date.now());
    for (const p of all) expect(p.plan).toMatchObject({ id: planId, baseFeeMinor: 4900 });
    // Asking again opens nothing new.
    const again = await server.get(`/v1/admin/billing/periods?consumerId=${consumer.id}&limit=100`, server.adminKey);
    expect(again.body.data.length).toBe(Math.min(all.length, 100));
  });

  it('usage → close → invoice, as the per_unit example of the docs; test keys are not billed', async () => {
    const planId = await plan(DOC_PER_UNIT);
    const { consumer } = await pastConsumer(planId);
    const c = consumer.id;
    await store.add([
      { consumerId: c, at: '2025-03-01T00:00:00Z', quantity: 50 }, // back-dated before creation: first period
      { consumerId: c, at: '2025-03-20T12:00:00Z', quantity: 100 },
      { consumerId: c, at: '2025-04-01T00:00:00Z', quantity: 20000 }, // on the boundary: April
      { consumerId: c, at: '2025-04-30T23:59:00Z', quantity: 5000 },
      { consumerId: c, at: '2025-04-10T00:00:00Z', quantity: 7000, environment: 'test' },
      { consumerId: c, at: '2025-04-10T00:00:00Z', quantity: 900, metric: 'unpriced' },
      { consumerId: c, at: '2025-05-01T00:00:00Z', quantity: 1000 }, // May
    ]);
    const april = await periodOf(c, '2025-04');
    expect(april.status).toBe('open');
    expect(april.invoice).toMatchObject({ id: null, status: 'open', totalMinor: 5500 });

    const closed = await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, server.adminKey);
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ id: april.id, status: 'closed', closedAt: expect.any(String) });
    const invoice = closed.body.invoice;
    expect(Object.keys(invoice).sort()).toEqual(INVOICE_KEYS);
    expect(invoice).toEqual({
      id: expect.stringMatching(/^inv_/),
      periodId: april.id,
      consumerId: c,
      currency: 'USD',
      periodStart: '2025-04-01T00:00:00.000Z',
      periodEnd: '2025-05-01T00:00:00.000Z',
      status: 'closed',
      lines: [
        { type: 'base_fee', metric: 'base_fee', quantity: 1, included: 0, billable: 1, unitPrice: '49.00', amountMinor: 4900 },
        { type: 'usage', metric: 'requests', quantity: 25000, included: 10000, billable: 15000, unitPrice: '0.0004', amountMinor: 600, carriedIn: 0 },
      ],
      totalMinor: 5500,
    });

    // The earlier open period was closed first: 150 requests, all included.
    const march = await periodOf(c, '2025-03');
    expect(march.status).toBe('closed');
    expect(march.invoice.lines[1]).toMatchObject({ metric: 'requests', quantity: 150, amountMinor: 0 });
    expect(march.invoice.totalMinor).toBe(4900);

    const twice = await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, server.adminKey);
    expect(twice.status).toBe(200);
    expect(twice.body).toEqual(closed.body);
    const got = await server.get(`/v1/admin/billing/periods/${april.id}`, server.adminKey);
    expect(got.body).toEqual(closed.body);
  });

  it('concurrent closes make one invoice; late usage is carried into the next period; a closed invoice never changes', async () => {
    const planId = await plan(DOC_PER_UNIT);
    const { consumer } = await pastConsumer(planId);
    const c = consumer.id;
    await store.add([
      { consumerId: c, at: '2025-04-05T00:00:00Z', quantity: 12000 },
      { consumerId: c, at: '2025-05-05T00:00:00Z', quantity: 11000 },
    ]);
    const april = await periodOf(c, '2025-04');
    const aprilClosed = (await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, server.adminKey)).body;
    expect(aprilClosed.invoice.totalMinor).toBe(4900 + 80);

    // Request counts for April's last days that reach the database after its close, then plan changes:
    // April does not move. Counts older than its closing window (its last three days) are not expected
    // that late, and are not carried.
    await store.add([
      { consumerId: c, at: '2025-04-29T00:00:00Z', quantity: 1500 },
      { consumerId: c, at: '2025-04-30T23:59:00Z', quantity: 500 },
      { consumerId: c, at: '2025-04-02T00:00:00Z', quantity: 700 },
    ]);
    expect((await server.patch(`/v1/admin/plans/${planId}`, { baseFeeMinor: 9999, prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '1' }] }, server.adminKey)).status).toBe(200);
    const other = await plan({ name: 'Other', currency: 'EUR', baseFeeMinor: 1 });
    expect((await server.patch(`/v1/admin/consumers/${c}`, { planId: other }, server.adminKey)).status).toBe(200);
    expect((await server.get(`/v1/admin/billing/periods/${april.id}`, server.adminKey)).body).toEqual(aprilClosed);

    const may = await periodOf(c, '2025-05');
    const closes = await Promise.all(Array.from({ length: 5 }, () => server.post(`/v1/admin/billing/periods/${may.id}/close`, {}, server.adminKey)));
    for (const r of closes) expect(r.status).toBe(200);
    const ids = new Set(closes.map((r) => r.body.invoice.id));
    expect(ids.size).toBe(1);
    const rows = await store.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM invoices WHERE period_id = ?', [may.id]);
    expect(Number(rows[0].n)).toBe(1);
    // May keeps the plan it opened with, and bills the 2000 late requests of April.
    expect(closes[0].body.invoice.lines).toEqual([
      { type: 'base_fee', metric: 'base_fee', quantity: 1, included: 0, billable: 1, unitPrice: '49.00', amountMinor: 4900 },
      { type: 'usage', metric: 'requests', quantity: 13000, included: 10000, billable: 3000, unitPrice: '0.0004', amountMinor: 120, carriedIn: 2000 },
    ]);
    const audit = await store.query<{ action: string }>("SELECT action FROM audit_entries WHERE target_id = ? AND action = 'billing_period.close'", [may.id]);
    expect(audit).toHaveLength(1);

    // Late usage for May's last days goes to June, and closed invoices stay as they were.
    await store.add([{ consumerId: c, at: '2025-05-30T00:00:00Z', quantity: 5000 }]);
    expect((await server.get(`/v1/admin/billing/periods/${may.id}`, server.adminKey)).body.invoice).toEqual(closes[0].body.invoice);
    const june = await periodOf(c, '2025-06');
    expect(june.invoice.lines[1]).toMatchObject({ quantity: 5000, carriedIn: 5000 });
  });

  it('concurrent closes on two instances make one invoice', async () => {
    const sibling = await TestServer.startSibling(server);
    try {
      const planId = await plan(DOC_PER_UNIT);
      const { consumer } = await pastConsumer(planId);
      await store.add([{ consumerId: consumer.id, at: '2025-04-05T00:00:00Z', quantity: 30000 }]);
      const april = await periodOf(consumer.id, '2025-04');
      const closes = await Promise.all(
        [server, sibling, server, sibling, sibling, server].map((s) => s.post(`/v1/admin/billing/periods/${april.id}/close`, {}, server.adminKey)),
      );
      for (const r of closes) expect(r.status).toBe(200);
      expect(new Set(closes.map((r) => r.body.invoice.id)).size).toBe(1);
      expect(closes[0].body.invoice.totalMinor).toBe(4900 + 800);
      const rows = await store.query<{ n: unknown }>('SELECT COUNT(*) AS n FROM invoices WHERE consumer_id = ?', [consumer.id]);
      expect(Number(rows[0].n)).toBe(2); // March (closed first) and April
    } finally {
      await sibling.stop('SIGTERM', false);
    }
  });

  it('a plan change reaches the consumer from its next period; open periods keep their snapshot', async () => {
    const p1 = await plan({ name: 'P1', currency: 'USD', baseFeeMinor: 1000 });
    const p2 = await plan({ name: 'P2', currency: 'USD', baseFeeMinor: 2000 });
    const { consumer, plaintext } = await consumerWithKey(server, {}, { planId: p1 });
    const before = await server.get('/v1/me/billing/current', plaintext);
    expect(before.status).toBe(200);
    expect(before.body.totalMinor).toBe(1000);

    expect((await server.patch(`/v1/admin/consumers/${consumer.id}`, { planId: p2 }, server.adminKey)).status).toBe(200);
    const same = await server.get('/v1/me/billing/current', plaintext);
    expect(same.body).toEqual(before.body);

    // The next period opens after the change; stand in for it by dropping the open one, which reopens now.
    await store.query('DELETE FROM billing_periods WHERE id = ?', [before.body.periodId]);
    const next = await server.get('/v1/me/billing/current', plaintext);
    expect(next.body.periodId).not.toBe(before.body.periodId);
    expect(next.body.totalMinor).toBe(2000);
    const period = await server.get(`/v1/admin/billing/periods/${next.body.periodId}`, server.adminKey);
    expect(period.body.plan).toMatchObject({ id: p2, name: 'P2', currency: 'USD', baseFeeMinor: 2000, prices: [], quotas: [] });
  });

  it('a consumer without a plan is metered but billed nothing', async () => {
    const { consumer, plaintext } = await pastConsumer(null);
    await store.add([{ consumerId: consumer.id, at: '2025-04-05T00:00:00Z', quantity: 500 }]);
    const april = await periodOf(consumer.id, '2025-04');
    expect(april.plan).toBeNull();
    const closed = await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, server.adminKey);
    expect(closed.status).toBe(200);
    expect(closed.body.invoice).toMatchObject({ id: expect.stringMatching(/^inv_/), currency: null, lines: [], totalMinor: 0, status: 'closed' });
    const current = await server.get('/v1/me/billing/current', plaintext);
    expect(current.body).toMatchObject({ id: null, currency: null, lines: [], totalMinor: 0, status: 'open' });
  });

  it('reproduces the worked examples of docs/billing.md through HTTP, JPY included', async () => {
    const usd = await plan(DOC_ALL_MODELS);
    const jpy = await plan(DOC_JPY);
    const a = (await pastConsumer(usd)).consumer.id;
    const b = (await pastConsumer(usd)).consumer.id;
    const y = (await pastConsumer(jpy)).consumer.id;
    const at = '2025-04-10T00:00:00Z';
    await store.add([
      { consumerId: a, at, metric: 'requests', quantity: 25000 },
      { consumerId: a, at, metric: 'sms', quantity: 2501 },
      { consumerId: a, at, metric: 'tokens', quantity: 7000 },
      { consumerId: a, at, metric: 'seats', quantity: 5001 },
      // Boundaries: tokens exactly at upTo, seats exactly at upTo, sms within its included units, no requests.
      { consumerId: b, at, metric: 'tokens', quantity: 1000 },
      { consumerId: b, at, metric: 'seats', quantity: 5000 },
      { consumerId: b, at, metric: 'sms', quantity: 400 },
      { consumerId: y, at, metric: 'requests', quantity: 12345 },
    ]);
    const close = async (consumerId: string) =>
      (await server.post(`/v1/admin/billing/periods/${(await periodOf(consumerId, '2025-04')).id}/close`, {}, server.adminKey)).body.invoice;

    const ia = await close(a);
    expect(ia.lines.map((l: { metric: string; amountMinor: number }) => [l.metric, l.amountMinor])).toEqual([
      ['base_fee', 4900],
      ['requests', 600],
      ['sms', 1500],
      ['tokens', 5400],
      ['seats', 3501],
    ]);
    expect(ia.totalMinor).toBe(15901);
    expect(ia.lines[2]).toMatchObject({ quantity: 2501, included: 500, billable: 2001, unitPrice: '5.00' });
    expect(ia.lines[3]).toMatchObject({
      unitPrice: null,
      tiers: [
        { upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' },
        { upTo: 5000, units: 4000, unitPrice: '0.008', flatFee: '2.00', amount: '34' },
        { upTo: null, units: 2000, unitPrice: '0.005', amount: '10' },
      ],
    });
    expect(ia.lines[4]).toMatchObject({ unitPrice: '0.005', tiers: [{ upTo: null, units: 5001, amount: '35.005' }] });

    const ib = await close(b);
    expect(ib.lines.map((l: { metric: string; quantity: number; included: number; billable: number; amountMinor: number }) => [l.metric, l.quantity, l.included, l.billable, l.amountMinor])).toEqual([
      ['base_fee', 1, 0, 1, 4900],
      ['requests', 0, 0, 0, 0],
      ['sms', 400, 400, 0, 0],
      ['tokens', 1000, 0, 1000, 1000],
      ['seats', 5000, 0, 5000, 4500],
    ]);
    expect(ib.totalMinor).toBe(10400);

    const iy = await close(y);
    expect(iy).toMatchObject({
      currency: 'JPY',
      totalMinor: 5617,
      lines: [
        { type: 'base_fee', unitPrice: '5000', amountMinor: 5000 },
        { type: 'usage', metric: 'requests', quantity: 12345, billable: 12345, unitPrice: '0.05', amountMinor: 617 },
      ],
    });
  });

  it('/me/billing: the live estimate and the invoices of the caller only', async () => {
    const planId = await plan(DOC_PER_UNIT);
    const { consumer, plaintext } = await pastConsumer(planId);
    const other = await pastConsumer(planId);
    const now = new Date();
    await store.add([
      { consumerId: consumer.id, at: now, quantity: 30000 },
      { consumerId: consumer.id, at: '2025-04-03T00:00:00Z', quantity: 1 },
    ]);

    const current = await server.get('/v1/me/billing/current', plaintext);
    expect(current.status).toBe(200);
    expect(Object.keys(current.body).sort()).toEqual(INVOICE_KEYS);
    expect(current.body).toMatchObject({ id: null, consumerId: consumer.id, status: 'open', currency: 'USD', totalMinor: 4900 + 800 });
    expect(new Date(current.body.periodStart).getTime()).toBeLessThanOrEqual(now.getTime());
    expect(new Date(current.body.periodEnd).getTime()).toBeGreaterThan(now.getTime());

    for (const month of ['2025-04', '2025-05']) {
      const p = await periodOf(consumer.id, month);
      expect((await server.post(`/v1/admin/billing/periods/${p.id}/close`, {}, server.adminKey)).status).toBe(200);
    }
    const p = await periodOf(other.consumer.id, '2025-04');
    expect((await server.post(`/v1/admin/billing/periods/${p.id}/close`, {}, server.adminKey)).status).toBe(200);

    const first = await server.get('/v1/me/billing/invoices?limit=2', plaintext);
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const rest = await server.get(`/v1/me/billing/invoices?limit=2&cursor=${first.body.nextCursor}`, plaintext);
    const invoices = [...first.body.data, ...rest.body.data];
    expect(rest.body.nextCursor).toBeNull();
    // March (closed before April), April and May, newest first, only this consumer's.
    const ids = invoices.map((i: { id: string }) => i.id);
    expect(ids).toEqual([...ids].sort().reverse());
    expect(invoices.map((i: { periodStart: string }) => i.periodStart).sort()).toEqual([
      CREATED,
      '2025-04-01T00:00:00.000Z',
      '2025-05-01T00:00:00.000Z',
    ]);
    for (const i of invoices) expect(i).toMatchObject({ consumerId: consumer.id, status: 'closed', id: expect.stringMatching(/^inv_/) });

    const noScope = await consumerWithKey(server, { scopes: ['usage:read'] });
    for (const path of ['/v1/me/billing/current', '/v1/me/billing/invoices']) {
      const r = await server.get(path, noScope.plaintext);
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('INSUFFICIENT_PERMISSIONS');
      expect((await server.get(path, server.adminKey)).status).toBe(403);
    }
  });

  it('needs billing:read to read and billing:write to close, on admin keys only; validates its input', async () => {
    const planId = await plan(DOC_PER_UNIT);
    const { consumer, plaintext } = await pastConsumer(planId);
    const april = await periodOf(consumer.id, '2025-04');
    const reader = await adminKeyWith(server, ['billing:read']);
    const writer = await adminKeyWith(server, ['billing:write']);

    expect((await server.get(`/v1/admin/billing/periods/${april.id}`, reader)).status).toBe(200);
    const refused = await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, reader);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('INSUFFICIENT_PERMISSIONS');
    expect((await server.get('/v1/admin/billing/periods', writer)).status).toBe(403);
    expect((await server.get('/v1/admin/billing/periods', plaintext)).status).toBe(403);
    expect((await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, plaintext)).status).toBe(403);
    expect((await server.get('/v1/admin/billing/periods')).status).toBe(401);
    expect((await server.post(`/v1/admin/billing/periods/${april.id}/close`, {}, writer)).status).toBe(200);

    for (const q of ['period=2025-13', 'period=2025-4', 'status=done', 'limit=0', 'cursor=abc']) {
      const r = await server.get(`/v1/admin/billing/periods?${q}`, server.adminKey);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('VALIDATION_FAILED');
    }
    const missing = 'per_01ABCDEFGHJKMNPQRSTVWXYZ0';
    expect((await server.get(`/v1/admin/billing/periods/${missing}`, server.adminKey)).body.error).toBe('NOT_FOUND');
    expect((await server.post(`/v1/admin/billing/periods/${missing}/close`, {}, server.adminKey)).status).toBe(404);

    const closedOnly = await server.get(`/v1/admin/billing/periods?consumerId=${consumer.id}&status=closed`, server.adminKey);
    expect(closedOnly.body.data.map((p: { start: string }) => p.start).sort()).toEqual([CREATED, '2025-04-01T00:00:00.000Z']);
    const unknown = await server.get('/v1/admin/billing/periods?consumerId=cons_01ABCDEFGHJKMNPQRSTVWXYZ0', server.adminKey);
    expect(unknown.body).toEqual({ data: [], nextCursor: null });
  });
});

describe('billing scheduler', () => {
  it('opens periods and closes the due ones, from two instances at once, without a second invoice', async () => {
    const server = await TestServer.start();
    const store = await UsageStore.open(server);
    const instances: TestServer[] = [];
    try {
      const planId = (await server.post('/v1/admin/plans', DOC_PER_UNIT, server.adminKey)).body.id;
      const consumers: string[] = [];
      for (let i = 0; i < 4; i++) {
        const { consumer } = await consumerWithKey(server, {}, { planId });
        await store.backdateConsumer(consumer.id, CREATED);
        consumers.push(consumer.id);
      }
      await store.add([{ consumerId: consumers[0], at: '2025-04-05T00:00:00Z', quantity: 30000 }]);
      const env = { BILLING_AUTO_CLOSE: 'true', BILLING_SCHEDULER_INTERVAL_SECONDS: '1', BILLING_CLOSE_GRACE_HOURS: '0' };
      instances.push(...(await Promise.all([TestServer.startSibling(server, { env }), TestServer.startSibling(server, { env })])));

      let open = 0;
      let closed = 0;
      for (let i = 0; i < 100; i++) {
        await sleep(200);
        const rows = await store.query<{ status: string; n: unknown }>('SELECT status, COUNT(*) AS n FROM billing_periods GROUP BY status');
        open = Number(rows.find((r) => r.status === 'open')?.n ?? 0);
        closed = Number(rows.find((r) => r.status === 'closed')?.n ?? 0);
        if (closed > 0 && open === consumers.length) break;
      }
      // Only each consumer's current period is left open.
      expect(open).toBe(consumers.length);
      expect(closed).toBeGreaterThanOrEqual(consumers.length * 15);
      const [counts] = await store.query<{ invoices: unknown; periods: unknown }>(
        'SELECT COUNT(*) AS invoices, COUNT(DISTINCT period_id) AS periods FROM invoices',
      );
      expect(Number(counts.invoices)).toBe(closed);
      expect(Number(counts.periods)).toBe(closed);
      const april = await server.get(`/v1/admin/billing/periods?consumerId=${consumers[0]}&period=2025-04`, server.adminKey);
      expect(april.body.data[0].invoice).toMatchObject({ status: 'closed', totalMinor: 4900 + 800 });
      const passes = instances.flatMap((s) => s.jsonLogs()).filter((l) => l.msg === 'billing pass');
      expect(passes.length).toBeGreaterThan(0);
    } finally {
      await store.close();
      for (const s of instances) await s.stop('SIGTERM', false);
      await server.stop();
    }
  });
});
