import { adminKeyWith, consumerWithKey } from './support/fixtures';
import { TestServer } from './support/server';
import { parseCsv, UsageStore } from './support/usage-store';

// jest reads testTimeout from the root config only, not from a project's: these suites start servers.
jest.setTimeout(60_000);

const COLUMNS = [
  'consumerId',
  'externalId',
  'periodId',
  'periodStart',
  'periodEnd',
  'metric',
  'quantity',
  'included',
  'billable',
  'unitPrice',
  'amountMinor',
  'currency',
  'invoiceId',
  'status',
];

const USD = {
  name: 'Every model',
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
    { metric: 'seats', model: 'volume', tiers: [{ upTo: 1000, unitPrice: '0.01' }, { upTo: null, unitPrice: '0.005', flatFee: '10.00' }] },
  ],
};
const JPY = { name: 'Yen', currency: 'JPY', baseFeeMinor: 5000, prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.05' }] };

type Row = Record<string, string | number | null>;

/** CSV rows as objects keyed by the header. */
function csvObjects(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...rest] = parseCsv(text);
  return { header, rows: rest.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i]]))) };
}

function sumBy<T>(rows: T[], key: (r: T) => string, amount: (r: T) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(key(r), (out.get(key(r)) ?? 0) + amount(r));
  return out;
}

describe('billing export', () => {
  let server: TestServer;
  let store: UsageStore;
  const ids: Record<string, string> = {};
  /** periodId → invoice (closed) or estimate (open), as the API shows it. */
  const expected = new Map<string, { totalMinor: number; status: string; id: string | null; lines: unknown[] }>();

  beforeAll(async () => {
    server = await TestServer.start();
    store = await UsageStore.open(server);
    const usd = (await server.post('/v1/admin/plans', USD, server.adminKey)).body.id;
    const jpy = (await server.post('/v1/admin/plans', JPY, server.adminKey)).body.id;
    const make = async (name: string, planId: string | null, externalId: string, createdAt = '2025-03-15T10:00:00.000Z') => {
      const { consumer } = await consumerWithKey(server, {}, { name, planId, externalId });
      await store.backdateConsumer(consumer.id, createdAt);
      ids[name] = consumer.id;
    };
    await make('a', usd, '=HYPERLINK("http://evil.example","click")');
    await make('b', jpy, '-2+3');
    await make('c', null, '@SUM(A1)');
    await make('d', usd, 'plain, "quoted"\nline');
    await make('e', usd, '+ok', '2025-05-10T08:00:00.000Z');
    const at = '2025-04-10T12:00:00Z';
    await store.add([
      { consumerId: ids.a, at, metric: 'requests', quantity: 25000 },
      { consumerId: ids.a, at, metric: 'requests', quantity: 99999, environment: 'test' },
      { consumerId: ids.a, at, metric: 'sms', quantity: 2501 },
      { consumerId: ids.a, at, metric: 'tokens', quantity: 7000 },
      { consumerId: ids.a, at, metric: 'seats', quantity: 1001 },
      { consumerId: ids.b, at, metric: 'requests', quantity: 12345 },
      { consumerId: ids.c, at, metric: 'requests', quantity: 777 },
      { consumerId: ids.d, at, metric: 'tokens', quantity: 1001 },
      { consumerId: ids.d, at, metric: 'requests', quantity: 12345 },
      { consumerId: ids.e, at: '2025-05-11T00:00:00Z', metric: 'requests', quantity: 20000 },
    ]);
    // Close April for a, c and d; b's April stays open and exports its estimate.
    for (const name of ['a', 'b', 'c', 'd']) {
      const list = await server.get(`/v1/admin/billing/periods?consumerId=${ids[name]}&period=2025-04`, server.adminKey);
      let period = list.body.data[0];
      if (name !== 'b') period = (await server.post(`/v1/admin/billing/periods/${period.id}/close`, {}, server.adminKey)).body;
      expected.set(period.id, period.invoice);
    }
  });
  afterAll(async () => {
    await store.close();
    await server.stop();
  });

  it('CSV: header, one row per line, escaped formulas, sums equal to the invoices to the minor unit', async () => {
    const r = await server.get('/v1/admin/billing/export?period=2025-04&format=csv', server.adminKey);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="billing-2025-04.csv"');
    const { header, rows } = csvObjects(r.text);
    expect(header).toEqual(COLUMNS);
    // a: base fee + 4 prices, b: base fee + 1, c: no plan so no lines, d: base fee + 4; e starts in May.
    expect(rows).toHaveLength(5 + 2 + 5);
    expect(new Set(rows.map((x) => x.consumerId))).toEqual(new Set([ids.a, ids.b, ids.d]));

    const totals = sumBy(rows, (x) => x.periodId, (x) => Number(x.amountMinor));
    expect(totals.size).toBe(3);
    for (const [periodId, total] of totals) expect(total).toBe(expected.get(periodId)!.totalMinor);
    const grand = [...totals.values()].reduce((s, v) => s + v, 0);
    expect(grand).toBe([...expected.values()].reduce((s, i) => s + i.totalMinor, 0));

    const a = rows.filter((x) => x.consumerId === ids.a);
    expect(a.map((x) => [x.metric, x.quantity, x.included, x.billable, x.unitPrice, x.amountMinor, x.currency, x.status])).toEqual([
      ['base_fee', '1', '0', '1', '49.00', '4900', 'USD', 'closed'],
      ['requests', '25000', '10000', '15000', '0.0004', '600', 'USD', 'closed'],
      ['sms', '2501', '500', '2001', '5.00', '1500', 'USD', 'closed'],
      ['tokens', '7000', '0', '7000', '', '5400', 'USD', 'closed'],
      ['seats', '1001', '0', '1001', '0.005', '1501', 'USD', 'closed'],
    ]);
    expect(a[0]).toMatchObject({ periodStart: '2025-04-01T00:00:00.000Z', periodEnd: '2025-05-01T00:00:00.000Z' });
    expect(new Set(a.map((x) => x.invoiceId))).toEqual(new Set([expected.get(a[0].periodId)!.id]));

    const b = rows.filter((x) => x.consumerId === ids.b);
    expect(b.map((x) => [x.metric, x.amountMinor, x.currency, x.invoiceId, x.status])).toEqual([
      ['base_fee', '5000', 'JPY', '', 'open'],
      ['requests', '617', 'JPY', '', 'open'],
    ]);

    // Spreadsheet formulas are neutralised; quotes, commas and newlines survive the quoting.
    expect(a[0].externalId).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(b[0].externalId).toBe(`'-2+3`);
    expect(rows.find((x) => x.consumerId === ids.d)!.externalId).toBe('plain, "quoted"\nline');
    expect(r.text).toContain('"\'=HYPERLINK(""http://evil.example"",""click"")"');
  });

  it('JSON and NDJSON: the same rows with typed values, and the same sums', async () => {
    const json = await server.get('/v1/admin/billing/export?period=2025-04&format=json', server.adminKey);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.headers.get('content-disposition')).toBe('attachment; filename="billing-2025-04.json"');
    const rows = json.body as Row[];
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(Object.keys(row)).toEqual(COLUMNS);
    const totals = sumBy(rows, (x) => String(x.periodId), (x) => x.amountMinor as number);
    for (const [periodId, total] of totals) expect(total).toBe(expected.get(periodId)!.totalMinor);
    const tokens = rows.find((x) => x.consumerId === ids.a && x.metric === 'tokens')!;
    expect(tokens).toMatchObject({ quantity: 7000, unitPrice: null, amountMinor: 5400, status: 'closed', externalId: '=HYPERLINK("http://evil.example","click")' });
    expect(rows.find((x) => x.consumerId === ids.b)).toMatchObject({ invoiceId: null, status: 'open', currency: 'JPY' });

    const nd = await server.get('/v1/admin/billing/export?period=2025-04&format=ndjson', server.adminKey);
    expect(nd.status).toBe(200);
    expect(nd.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const lines = nd.text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(rows);

    const csv = csvObjects((await server.get('/v1/admin/billing/export?period=2025-04', server.adminKey)).text).rows;
    expect(csv.map((x) => [x.periodId, x.metric, Number(x.amountMinor)])).toEqual(rows.map((x) => [x.periodId, x.metric, x.amountMinor]));
  });

  it('selects periods by the month they start in, and one consumer on request', async () => {
    const may = (await server.get('/v1/admin/billing/export?period=2025-05&format=json', server.adminKey)).body as Row[];
    // e was created on 10 May: its first period starts then; the others' May periods start on the 1st.
    const e = may.filter((x) => x.consumerId === ids.e);
    expect(e.map((x) => [x.periodStart, x.metric, x.quantity, x.amountMinor, x.externalId])).toEqual([
      ['2025-05-10T08:00:00.000Z', 'base_fee', 1, 4900, '+ok'],
      ['2025-05-10T08:00:00.000Z', 'requests', 20000, 400, '+ok'],
      ['2025-05-10T08:00:00.000Z', 'sms', 0, 0, '+ok'],
      ['2025-05-10T08:00:00.000Z', 'tokens', 0, 0, '+ok'],
      ['2025-05-10T08:00:00.000Z', 'seats', 0, 0, '+ok'],
    ]);
    expect(new Set(may.map((x) => x.periodStart))).toEqual(new Set(['2025-05-01T00:00:00.000Z', '2025-05-10T08:00:00.000Z']));
    const eCsv = csvObjects((await server.get('/v1/admin/billing/export?period=2025-05&format=csv', server.adminKey)).text).rows;
    expect(eCsv.find((x) => x.consumerId === ids.e)!.externalId).toBe(`'+ok`);

    const one = await server.get(`/v1/admin/billing/export?period=2025-04&format=json&consumerId=${ids.d}`, server.adminKey);
    expect(one.status).toBe(200);
    expect(one.headers.get('content-disposition')).toBe(`attachment; filename="billing-2025-04-${ids.d}.json"`);
    expect(new Set((one.body as Row[]).map((x) => x.consumerId))).toEqual(new Set([ids.d]));
    expect((one.body as Row[]).reduce((s, x) => s + (x.amountMinor as number), 0)).toBe(4900 + 94 + 1201);

    const none = await server.get('/v1/admin/billing/export?period=2024-01&format=json', server.adminKey);
    expect(none.body).toEqual([]);
    const noneCsv = await server.get('/v1/admin/billing/export?period=2024-01', server.adminKey);
    expect(parseCsv(noneCsv.text)).toEqual([COLUMNS]);
  });

  it('validates its query and needs billing:read on an admin key', async () => {
    for (const q of ['', 'period=2025-00', 'period=2025-4', 'period=2025-04&format=xml', 'period=2025-04&extra=1']) {
      const r = await server.get(`/v1/admin/billing/export?${q}`, server.adminKey);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('VALIDATION_FAILED');
    }
    const unknown = await server.get('/v1/admin/billing/export?period=2025-04&consumerId=cons_01ABCDEFGHJKMNPQRSTVWXYZ0', server.adminKey);
    expect(unknown.status).toBe(404);
    const writer = await adminKeyWith(server, ['billing:write']);
    expect((await server.get('/v1/admin/billing/export?period=2025-04', writer)).status).toBe(403);
    const reader = await adminKeyWith(server, ['billing:read']);
    expect((await server.get('/v1/admin/billing/export?period=2025-04', reader)).status).toBe(200);
    const { plaintext } = await consumerWithKey(server);
    expect((await server.get('/v1/admin/billing/export?period=2025-04', plaintext)).status).toBe(403);
  });
});

describe('billing export across pages of consumers', () => {
  it('pages through more consumers than one page holds, in id order, each exactly once', async () => {
    const server = await TestServer.start();
    const store = await UsageStore.open(server);
    try {
      const plan = (await server.post('/v1/admin/plans', { name: 'Flat', currency: 'EUR', baseFeeMinor: 1000 }, server.adminKey)).body.id;
      const count = 1234;
      const at = '2025-03-15 10:00:00.000';
      const consumers = Array.from({ length: count }, (_, i) => `cons_01PAGE${String(i).padStart(18, '0')}`);
      for (let i = 0; i < count; i += 200) {
        const chunk = consumers.slice(i, i + 200);
        await store.query(
          `INSERT INTO consumers (id, name, external_id, metadata, status, plan_id, billing_anchor_day, created_at, updated_at) VALUES ${chunk
            .map(() => "(?, 'bulk', NULL, '{}', 'active', ?, 1, ?, ?)")
            .join(', ')}`,
          chunk.flatMap((id) => [id, plan, at, at]),
        );
      }
      const r = await server.get('/v1/admin/billing/export?period=2025-04&format=ndjson', server.adminKey);
      expect(r.status).toBe(200);
      const rows = r.text.trim().split('\n').map((l) => JSON.parse(l));
      expect(rows.map((x) => x.consumerId)).toEqual(consumers);
      expect(rows.every((x) => x.metric === 'base_fee' && x.amountMinor === 1000 && x.status === 'open')).toBe(true);
    } finally {
      await store.close();
      await server.stop();
    }
  });
});
