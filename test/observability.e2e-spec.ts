import { consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly: throws on any line that is not a
 * comment, a HELP/TYPE line, or a well-formed sample of a family whose TYPE came first.
 */
function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  if (lines.pop() !== '') throw new Error('the exposition must end with a newline');
  for (const [i, line] of lines.entries()) {
    const fail = (why: string) => new Error(`line ${i + 1} "${line}": ${why}`);
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      if (!NAME.test(m[2])) throw fail('bad metric name');
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3])) throw fail('unknown type');
        if (types.has(m[2])) throw fail('TYPE given twice');
        types.set(m[2], m[3]);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( -?\d+)?$/.exec(line);
    if (!m) throw fail('not a sample');
    const labels: Record<string, string> = {};
    let rest = m[3] ?? '';
    while (rest.length) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      if (!l) throw fail(`bad labels at ${rest}`);
      if (l[1] in labels) throw fail(`label ${l[1]} twice`);
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    const raw = m[4];
    // Prometheus parses NaN case-insensitively (prom-client writes `Nan` before the first event-loop sample).
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : /^nan$/i.test(raw) ? NaN : Number(raw);
    if (!/^(\+Inf|-Inf|[Nn][Aa][Nn]|[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)$/.test(raw)) throw fail('bad value');
    const family = [m[1], m[1].replace(/_(bucket|sum|count|total|created)$/, '')].find((n) => types.has(n));
    if (!family) throw fail('sample before its TYPE');
    if (types.get(family) === 'histogram' && m[1].endsWith('_bucket') && !('le' in labels)) throw fail('bucket without le');
    samples.push({ name: m[1], labels, value });
  }
  checkHistograms(samples, types);
  return samples;
}

/** Buckets are cumulative and the +Inf bucket equals _count, per series. */
function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      void le;
      const id = JSON.stringify(rest);
      series.set(id, [...(series.get(id) ?? []), s]);
    }
    for (const [id, buckets] of series) {
      const sorted = [...buckets].sort((a, b) => Number(a.labels.le === '+Inf' ? Infinity : a.labels.le) - Number(b.labels.le === '+Inf' ? Infinity : b.labels.le));
      sorted.reduce((prev, b) => {
        if (b.value < prev) throw new Error(`${family}${id}: buckets not cumulative`);
        return b.value;
      }, 0);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === id);
      if (sorted[sorted.length - 1].labels.le !== '+Inf' || count?.value !== sorted[sorted.length - 1].value) {
        throw new Error(`${family}${id}: the +Inf bucket must equal _count`);
      }
    }
  }
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  const hit = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  return hit?.value ?? 0;
}

describe('observability', () => {
  let server: TestServer;
  let consumer: any;
  let key: any;
  let plaintext: string;
  const HEADER = 'IM-API-KEY';

  beforeAll(async () => {
    server = await TestServer.start({ env: { API_KEY_HEADER: HEADER, LOG_LEVEL: 'trace' } });
    ({ consumer, key, plaintext } = await consumerWithKey(server));
  });

  afterAll(async () => {
    await server?.stop();
  });

  /** The request line of one request; the hook writes it just after the response goes out. */
  async function requestLine(requestId: string): Promise<Record<string, any>> {
    for (let i = 0; i < 50; i++) {
      const line = server.jsonLogs().find((l) => l.msg === 'request' && l.reqId === requestId);
      if (line) return line;
      await sleep(20);
    }
    throw new Error(`no request line for ${requestId}`);
  }

  describe('logs', () => {
    it('write the key id, never the key, whichever header carries it', async () => {
      const ways: [string, Record<string, string>][] = [
        ['obs-x-api-key', { 'x-api-key': plaintext }],
        ['obs-bearer', { authorization: `Bearer ${plaintext}` }],
        ['obs-custom-header', { [HEADER]: plaintext }],
      ];
      for (const [id, headers] of ways) {
        const r = await server.get('/v1/me', undefined, { ...headers, 'x-request-id': id });
        expect({ id, status: r.status }).toEqual({ id, status: 200 });
        expect(r.headers.get('x-request-id')).toBe(id);
        expect(await requestLine(id)).toMatchObject({
          level: 'info',
          reqId: id,
          keyId: key.id,
          consumerId: consumer.id,
          method: 'GET',
          url: '/v1/me',
          route: '/v1/me',
          statusCode: 200,
        });
      }
    });

    it('name a refused key by its id and its error', async () => {
      const second = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'leaky', scopes: ['usage:read'] }, server.adminKey);
      await server.post(`/v1/admin/keys/${second.body.id}/revoke`, {}, server.adminKey);
      const r = await server.get('/v1/me', second.body.key, { 'x-request-id': 'obs-revoked' });
      expect(r.status).toBe(401);
      expect(await requestLine('obs-revoked')).toMatchObject({ keyId: second.body.id, authError: 'KEY_REVOKED', statusCode: 401 });
      expect(server.logs.join('\n')).not.toContain(second.body.key);
    });

    it('mask a key sent in the URL', async () => {
      const r = await server.get(`/v1/me?api_key=${plaintext}`, plaintext, { 'x-request-id': 'obs-query' });
      expect(r.status).toBe(200);
      expect(await requestLine('obs-query')).toMatchObject({ url: '/v1/me?api_key=[redacted]', keyId: key.id });
      const forged = plaintext.slice(0, -1) + (plaintext.endsWith('A') ? 'B' : 'A');
      await server.get(`/v1/admin/keys/${forged}`, forged, { 'x-request-id': 'obs-forged' });
      expect(await requestLine('obs-forged')).toMatchObject({ url: '/v1/admin/keys/[redacted]', authError: 'INVALID_API_KEY', statusCode: 401 });
    });

    it('never contain a key, and every line about a request carries its id', async () => {
      const all = server.logs.join('\n');
      expect(all).toContain(key.id);
      for (const secret of [plaintext, server.adminKey]) expect(all).not.toContain(secret);
      const lines = server.jsonLogs();
      // Everything but Node's own process warnings on stderr is a JSON line.
      expect(server.logs.filter((l) => !l.startsWith('{') && !/^\(node:\d+\)|^\(Use `node/.test(l))).toEqual([]);
      expect(lines.length).toBeGreaterThan(20);
      const aboutRequests = lines.filter((l) => 'statusCode' in l || 'url' in l || 'method' in l);
      expect(aboutRequests.length).toBeGreaterThan(8);
      for (const l of aboutRequests) expect(l).toHaveProperty('reqId', expect.any(String));
    });
  });

  describe('/metrics', () => {
    async function scrape(): Promise<Sample[]> {
      const r = await server.get('/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parseExposition(r.text);
    }

    /** Waits for the response hooks of the last requests to have run, then returns the scrape. */
    async function scrapeUntil(ok: (s: Sample[]) => boolean): Promise<Sample[]> {
      let samples = await scrape();
      for (let i = 0; i < 50 && !ok(samples); i++) {
        await sleep(20);
        samples = await scrape();
      }
      return samples;
    }

    it('parses as Prometheus exposition format', async () => {
      const samples = await scrape();
      expect(samples.length).toBeGreaterThan(50);
      for (const name of ['tollgate_http_requests_total', 'tollgate_http_request_duration_seconds_bucket', 'tollgate_key_verifications_total', 'tollgate_key_cache_hit_ratio']) {
        expect(samples.some((s) => s.name === name)).toBe(true);
      }
      expect(() => parseExposition('tollgate_x{route="/a} 1\n')).toThrow();
      expect(() => parseExposition('# TYPE a counter\na 1\nb 2\n')).toThrow(/before its TYPE/);
    });

    it('counts requests and latency by route template, method and status, and verifications by code', async () => {
      const routeOf = (route: string, status: string, method = 'GET') => ({ route, method, status });
      const before = await scrape();
      const admin = server.adminKey;
      for (let i = 0; i < 3; i++) await server.get('/v1/admin/consumers', admin);
      await server.get(`/v1/admin/consumers/${consumer.id}`, admin);
      await server.offContract('a route that does not exist', 'GET', '/v1/no/such/route', { key: admin });
      await server.get('/v1/admin/consumers');
      await server.get('/v1/admin/consumers', 'tg_live_notakey');
      await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, admin);
      await server.post('/v1/keys/verify', { key: `${plaintext}x`, cost: 0 }, admin);

      const delta = (s: Sample[], name: string, labels: Record<string, string>) => value(s, name, labels) - value(before, name, labels);
      const expected: [string, Record<string, string>, number][] = [
        ['tollgate_http_requests_total', routeOf('/v1/admin/consumers', '200'), 3],
        ['tollgate_http_request_duration_seconds_count', routeOf('/v1/admin/consumers', '200'), 3],
        ['tollgate_http_requests_total', routeOf('/v1/admin/consumers/:id', '200'), 1],
        ['tollgate_http_requests_total', routeOf('unmatched', '404'), 1],
        ['tollgate_http_requests_total', routeOf('/v1/admin/consumers', '401'), 2],
        ['tollgate_http_requests_total', routeOf('/v1/keys/verify', '200', 'POST'), 2],
        ['tollgate_key_verifications_total', { code: 'VALID', source: 'guard' }, 6],
        ['tollgate_key_verifications_total', { code: 'MISSING_API_KEY', source: 'guard' }, 1],
        ['tollgate_key_verifications_total', { code: 'INVALID_API_KEY', source: 'guard' }, 1],
        ['tollgate_key_verifications_total', { code: 'VALID', source: 'verify' }, 1],
        ['tollgate_key_verifications_total', { code: 'INVALID_API_KEY', source: 'verify' }, 1],
      ];
      const after = await scrapeUntil((s) => expected.every(([name, labels, n]) => delta(s, name, labels) >= n));
      for (const [name, labels, n] of expected) expect({ name, labels, delta: delta(after, name, labels) }).toEqual({ name, labels, delta: n });

      const routes = new Set(after.filter((s) => s.name === 'tollgate_http_requests_total').map((s) => s.labels.route));
      expect([...routes].some((r) => r.includes(consumer.id) || r.includes('no/such'))).toBe(false);
      const sum = value(after, 'tollgate_http_request_duration_seconds_sum', routeOf('/v1/admin/consumers', '200'));
      expect(sum).toBeGreaterThan(0);
      const ratio = value(after, 'tollgate_key_cache_hit_ratio', {});
      expect(ratio).toBeGreaterThan(0);
      expect(ratio).toBeLessThanOrEqual(1);
    });
  });
});
