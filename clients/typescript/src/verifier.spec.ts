import { createServer } from 'node:net';
import { FakeTollgate, verdict } from './testing/fake-tollgate';
import { createVerifier, type UnreachableEvent } from './verifier';

describe('createVerifier', () => {
  let fake: FakeTollgate;
  afterEach(() => fake?.close());

  it('asks POST /v1/keys/verify with its gateway key and what the route needs, over one kept-alive connection', async () => {
    fake = await FakeTollgate.start(() => ({ body: verdict() }));
    const verifier = createVerifier({ baseUrl: `${fake.url}/`, gatewayKey: 'tg_live_gateway' });
    const a = await verifier.verify({ key: 'tg_live_client', scopes: ['orders:read'], ip: '::ffff:10.0.0.1', origin: 'https://a.example' });
    const b = await verifier.verify({ key: 'tg_live_client', metric: 'tokens', cost: 0 });
    await verifier.close();
    expect(fake.received.map((r) => r.path)).toEqual(['/v1/keys/verify', '/v1/keys/verify']);
    expect(fake.received[0].headers['x-api-key']).toBe('tg_live_gateway');
    expect(fake.received[0].body).toEqual({ key: 'tg_live_client', scopes: ['orders:read'], ip: '10.0.0.1', origin: 'https://a.example' });
    expect(fake.received[1].body).toEqual({ key: 'tg_live_client', metric: 'tokens', cost: 0 });
    expect(a).toMatchObject({ allowed: true, key: { id: 'key_1', kind: 'secret', environment: 'live' }, consumer: { id: 'cons_1' }, presentedKey: 'tg_live_client' });
    expect(a.answer.headers['RateLimit']).toBe('"default";r=999;t=42');
    expect(b.allowed).toBe(true);
  });

  it('keeps a base path', async () => {
    fake = await FakeTollgate.start(() => ({ body: verdict() }));
    const verifier = createVerifier({ baseUrl: `${fake.url}/tollgate`, gatewayKey: 'g' });
    await verifier.verify({ key: 'k' });
    await verifier.close();
    expect(fake.received[0].path).toBe('/tollgate/v1/keys/verify');
  });

  it('refuses a missing or oversized key without asking Tollgate', async () => {
    fake = await FakeTollgate.start(() => ({ body: verdict() }));
    const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'g' });
    const none = await verifier.verify({ key: undefined, requestId: 'req_client' });
    expect(none.answer).toEqual({ status: 401, headers: {}, body: expect.objectContaining({ error: 'MISSING_API_KEY', statusCode: 401, requestId: 'req_client' }) });
    expect((await verifier.verify({ key: 'x'.repeat(257) })).answer.body?.error).toBe('INVALID_API_KEY');
    await verifier.close();
    expect(fake.received).toHaveLength(0);
  });

  it('passes a refusal on with Tollgate request id', async () => {
    fake = await FakeTollgate.start(() => ({ body: verdict({ valid: false, code: 'KEY_REVOKED', rateLimits: [] }) }));
    const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'g' });
    const r = await verifier.verify({ key: 'k' });
    await verifier.close();
    expect(r).toMatchObject({ allowed: false, key: null, consumer: null, answer: { status: 401, body: { error: 'KEY_REVOKED', requestId: 'req_fake1' } } });
  });

  it('reads the key as Tollgate does', () => {
    const verifier = createVerifier({ baseUrl: 'http://127.0.0.1:1', gatewayKey: 'g', header: 'IM-API-KEY' });
    expect(verifier.keyFrom({ 'x-api-key': ' a ' })).toBe('a');
    expect(verifier.keyFrom({ authorization: 'Bearer b' })).toBe('b');
    expect(verifier.keyFrom({ authorization: 'Basic b' })).toBeUndefined();
    expect(verifier.keyFrom({ 'im-api-key': 'c' })).toBe('c');
    expect(verifier.keyFrom({})).toBeUndefined();
    return verifier.close();
  });

  describe('when Tollgate cannot answer', () => {
    async function deadPort(): Promise<number> {
      const srv = createServer();
      await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
      const port = (srv.address() as { port: number }).port;
      await new Promise((ok) => srv.close(ok));
      return port;
    }

    it('fails closed with 503 SERVICE_UNAVAILABLE and Retry-After by default, and counts it', async () => {
      const events: UnreachableEvent[] = [];
      const verifier = createVerifier({ baseUrl: `http://127.0.0.1:${await deadPort()}`, gatewayKey: 'g', onUnreachable: (e) => events.push(e) });
      const r = await verifier.verify({ key: 'k' });
      await verifier.close();
      expect(r).toMatchObject({ allowed: false, unreachable: true, key: null });
      expect(r.answer).toMatchObject({ status: 503, headers: { 'Retry-After': '5' }, body: { error: 'SERVICE_UNAVAILABLE', statusCode: 503, retryAfter: 5 } });
      expect(events).toEqual([expect.objectContaining({ failedOpen: false, count: 1 })]);
      expect(verifier.unreachableCount).toBe(1);
    });

    it('gives up after the timeout', async () => {
      fake = await FakeTollgate.start(() => ({ body: verdict(), delayMs: 2000 }));
      const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'g', timeoutMs: 100 });
      const started = Date.now();
      const r = await verifier.verify({ key: 'k' });
      await verifier.close();
      expect(Date.now() - started).toBeLessThan(1500);
      expect(r.answer.status).toBe(503);
    });

    it('treats a 5xx as unreachable and fails open only when told, without a key on the request', async () => {
      fake = await FakeTollgate.start(() => ({ status: 503, body: { error: 'SERVICE_UNAVAILABLE' } }));
      const events: UnreachableEvent[] = [];
      const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'g', failOpen: true, onUnreachable: (e) => events.push(e) });
      const r = await verifier.verify({ key: 'k' });
      await verifier.close();
      expect(r).toMatchObject({ allowed: true, unreachable: true, key: null, consumer: null, answer: { status: 200, headers: {} } });
      expect(events[0]).toMatchObject({ failedOpen: true, count: 1 });
    });

    it('never fails open on its own misconfiguration (a gateway key Tollgate refuses)', async () => {
      fake = await FakeTollgate.start(() => ({ status: 401, body: { error: 'INVALID_API_KEY' } }));
      const verifier = createVerifier({ baseUrl: fake.url, gatewayKey: 'wrong', failOpen: true });
      const r = await verifier.verify({ key: 'k' });
      await verifier.close();
      expect(r).toMatchObject({ allowed: false, unreachable: false, answer: { status: 500, body: { error: 'INTERNAL_ERROR' } } });
      expect(verifier.unreachableCount).toBe(0);
    });
  });
});
