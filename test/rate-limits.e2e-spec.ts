import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { insertPlan, rawSql, type RawSql } from './support/raw-sql';
import { type Response, TestServer } from './support/server';

/** The default limit of this suite's server: per consumer, and per admin key without limits of its own. */
const DEFAULT_LIMIT = 6;
const AUTH_FAILURE_LIMIT = 3;
const BIG = [{ name: 'ops', limit: 1_000_000, windowSeconds: 60 }];

function expectRefused(r: Response, code = 'RATE_LIMIT_EXCEEDED'): void {
  expect(r.status).toBe(429);
  expect(r.body).toEqual({
    error: code,
    message: expect.any(String),
    statusCode: 429,
    requestId: expect.any(String),
    retryAfter: expect.any(Number),
  });
  expect(r.body.retryAfter).toBeGreaterThanOrEqual(1);
  expect(r.headers.get('retry-after')).toBe(String(r.body.retryAfter));
}

describe('rate limits', () => {
  let server: TestServer;
  let sql: RawSql;

  beforeAll(async () => {
    server = await TestServer.start({
      env: {
        DEFAULT_RATE_LIMIT: String(DEFAULT_LIMIT),
        DEFAULT_RATE_LIMIT_WINDOW_SECONDS: '60',
        AUTH_FAILURE_LIMIT: String(AUTH_FAILURE_LIMIT),
        AUTH_FAILURE_WINDOW_SECONDS: '60',
        LOG_LEVEL: 'warn',
      },
    });
    sql = await rawSql(server.db);
    // The bootstrap admin key would otherwise get the suite's tiny default: give it its own limit.
    const admins = await server.get('/v1/admin/admin-keys', server.adminKey);
    const id = admins.body.data.find((k: { start: string }) => server.adminKey.startsWith(k.start)).id;
    const patched = await server.patch(`/v1/admin/keys/${id}`, { rateLimits: BIG }, server.adminKey);
    expect(patched.status).toBe(200);
  });

  afterAll(async () => {
    await sql?.close();
    await server?.stop();
  });

  /** A consumer (without a plan unless given) with one key of its own limits. */
  const keyWith = (rateLimits: unknown[] = [], consumer: Record<string, unknown> = {}) =>
    consumerWithKey(server, { scopes: ['usage:read'], rateLimits }, consumer);

  it('lets exactly N through and answers the next with 429, its headers and body', async () => {
    const { plaintext } = await keyWith([{ name: 'three', limit: 3, windowSeconds: 60 }]);
    for (let i = 0; i < 3; i++) {
      const ok = await server.get('/v1/me/ping', plaintext);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('ratelimit-policy')).toBe(`"default";q=${DEFAULT_LIMIT};w=60, "three";q=3;w=60`);
      expect(ok.headers.get('ratelimit')).toMatch(new RegExp(`^"default";r=${DEFAULT_LIMIT - 1 - i};t=(60|59), "three";r=${2 - i};t=(60|59)$`));
      expect(ok.headers.get('x-ratelimit-limit')).toBe('3');
      expect(ok.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
      expect(Number(ok.headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(59);
    }
    const refused = await server.get('/v1/me/ping', plaintext);
    expectRefused(refused);
    expect(refused.body.message).toContain('"three"');
    expect(refused.body.retryAfter).toBeGreaterThanOrEqual(59);
    expect(refused.headers.get('ratelimit-policy')).toBe(`"default";q=${DEFAULT_LIMIT};w=60, "three";q=3;w=60`);
    expect(refused.headers.get('ratelimit')).toMatch(/"three";r=0;t=\d+$/);
    expect(refused.headers.get('x-ratelimit-limit')).toBe('3');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
  });

  it('counts one limit across all routes', async () => {
    const { plaintext } = await keyWith([{ name: 'two', limit: 2, windowSeconds: 60 }]);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me', plaintext)).status).toBe(200);
    expectRefused(await server.get('/v1/me/ping', plaintext));
    expectRefused(await server.get('/v1/me', plaintext));
  });

  it('starts again when the window ends', async () => {
    const { plaintext } = await keyWith([{ name: 'second', limit: 2, windowSeconds: 1 }]);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const refused = await server.get('/v1/me/ping', plaintext);
    expectRefused(refused);
    expect(refused.body.retryAfter).toBe(1);
    await sleep(1_100);
    const again = await server.get('/v1/me/ping', plaintext);
    expect(again.status).toBe(200);
    expect(again.headers.get('ratelimit')).toMatch(/"second";r=1;t=1$/);
  });

  it('applies the default to all keys of a consumer together', async () => {
    const { consumer, plaintext: first } = await keyWith();
    const second = await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'second', scopes: [] }, server.adminKey);
    for (let i = 0; i < DEFAULT_LIMIT / 2; i++) {
      expect((await server.get('/v1/me/ping', first)).status).toBe(200);
      expect((await server.get('/v1/me/ping', second.body.key)).status).toBe(200);
    }
    expectRefused(await server.get('/v1/me/ping', first));
    expectRefused(await server.get('/v1/me/ping', second.body.key));
    // Another consumer is not affected.
    expect((await server.get('/v1/me/ping', (await keyWith()).plaintext)).status).toBe(200);
  });

  it("keeps the consumer's limit when a key has a larger one of its own", async () => {
    const { plaintext } = await keyWith([{ name: 'huge', limit: 1_000_000, windowSeconds: 60 }]);
    for (let i = 0; i < DEFAULT_LIMIT; i++) expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const refused = await server.get('/v1/me/ping', plaintext);
    expectRefused(refused);
    expect(refused.body.message).toContain('"default"');
  });

  it('applies a change of a key limit to the next request', async () => {
    const { key, plaintext } = await keyWith([{ name: 'tight', limit: 1, windowSeconds: 60 }]);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    expectRefused(await server.get('/v1/me/ping', plaintext));
    const patched = await server.patch(`/v1/admin/keys/${key.id}`, { rateLimits: [{ name: 'tight', limit: 4, windowSeconds: 60 }] }, server.adminKey);
    expect(patched.status).toBe(200);
    // Same name and window: the same counter (2 so far, the refused request included), under the new limit.
    const next = await server.get('/v1/me/ping', plaintext);
    expect(next.status).toBe(200);
    expect(next.headers.get('ratelimit-policy')).toContain('"tight";q=4;w=60');
    expect(next.headers.get('x-ratelimit-remaining')).toBe('1');
  });

  it('applies two named limits at once, each on its own counter', async () => {
    const { plaintext } = await keyWith([
      { name: 'burst', limit: 2, windowSeconds: 1 },
      { name: 'minute', limit: 4, windowSeconds: 60 },
    ]);
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const second = await server.get('/v1/me/ping', plaintext);
    expect(second.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+, "burst";r=0;t=1, "minute";r=2;t=\d+$/);
    const burst = await server.get('/v1/me/ping', plaintext);
    expectRefused(burst);
    expect(burst.body.message).toContain('"burst"');
    expect(burst.body.retryAfter).toBe(1);
    await sleep(1_100);
    // The refused request counted too: the minute limit has one left.
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const minute = await server.get('/v1/me/ping', plaintext);
    expectRefused(minute);
    expect(minute.body.message).toContain('"minute"');
    expect(minute.body.retryAfter).toBeGreaterThan(50);
  });

  it("shares a plan's limits between the keys of a consumer, and applies a change of plan at once", async () => {
    const small = await insertPlan(sql, { rateLimits: [{ name: 'plan-minute', limit: 4, windowSeconds: 60 }] });
    const large = await insertPlan(sql, { rateLimits: [{ name: 'plan-minute', limit: 50, windowSeconds: 60 }] });
    const { consumer, plaintext: a } = await keyWith([], { planId: small });
    const b = (await server.post(`/v1/admin/consumers/${consumer.id}/keys`, { name: 'b', scopes: [] }, server.adminKey)).body.key;
    const first = await server.get('/v1/me/ping', a);
    expect(first.headers.get('ratelimit-policy')).toBe('"plan-minute";q=4;w=60');
    expect((await server.get('/v1/me/ping', b)).status).toBe(200);
    expect((await server.get('/v1/me/ping', a)).status).toBe(200);
    expect((await server.get('/v1/me/ping', b)).status).toBe(200);
    expectRefused(await server.get('/v1/me/ping', a));
    expectRefused(await server.get('/v1/me/ping', b));

    const moved = await server.patch(`/v1/admin/consumers/${consumer.id}`, { planId: large }, server.adminKey);
    expect(moved.status).toBe(200);
    const next = await server.get('/v1/me/ping', b);
    expect(next.status).toBe(200);
    expect(next.headers.get('ratelimit-policy')).toBe('"plan-minute";q=50;w=60');
  });

  it('limits an admin key without limits of its own by the default, per key', async () => {
    const admin = await adminKeyWith(server, ['consumers:read']);
    for (let i = 0; i < DEFAULT_LIMIT; i++) expect((await server.get('/v1/admin/consumers?limit=1', admin)).status).toBe(200);
    const refused = await server.get('/v1/admin/consumers?limit=1', admin);
    expectRefused(refused);
    expect(refused.headers.get('ratelimit-policy')).toBe(`"default";q=${DEFAULT_LIMIT};w=60`);
    expect((await server.get('/v1/admin/consumers?limit=1', await adminKeyWith(server, ['consumers:read']))).status).toBe(200);
  });

  it('leaves public routes unlimited and without limit headers', async () => {
    for (let i = 0; i < DEFAULT_LIMIT + 2; i++) {
      const r = await server.get('/v1/ping');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok' });
      expect(r.headers.get('ratelimit')).toBeNull();
    }
  });

  it('shows the limits in /v1/me without consuming them', async () => {
    const { key, plaintext } = await keyWith([{ name: 'own', limit: 5, windowSeconds: 30 }]);
    const me = await server.get('/v1/me', plaintext);
    expect(me.status).toBe(200);
    expect(me.body.rateLimits).toEqual([
      { name: 'default', limit: DEFAULT_LIMIT, remaining: DEFAULT_LIMIT - 1, reset: expect.any(Number), windowSeconds: 60 },
      { name: 'own', limit: 5, remaining: 4, reset: expect.any(Number), windowSeconds: 30 },
    ]);
    expect(me.body.quotas).toEqual([]);
    const ping = await server.get('/v1/me/ping', plaintext);
    expect(ping.body).toEqual({ keyId: key.id, consumerId: key.consumerId, environment: 'live' });
    expect(ping.headers.get('x-ratelimit-remaining')).toBe('3');
  });

  it("applies the verified key's limits in /v1/keys/verify, and peeks with cost 0", async () => {
    const verifier = await adminKeyWith(server, ['keys:verify'], { rateLimits: BIG });
    const { plaintext } = await keyWith([{ name: 'two', limit: 2, windowSeconds: 60 }]);
    const verify = (cost?: number) => server.post('/v1/keys/verify', { key: plaintext, ...(cost === undefined ? {} : { cost }) }, verifier);

    for (let i = 0; i < 3; i++) {
      const peek = await verify(0);
      expect(peek.body).toMatchObject({ valid: true, code: 'VALID' });
      expect(peek.body.rateLimits).toEqual([
        { name: 'default', limit: DEFAULT_LIMIT, remaining: DEFAULT_LIMIT, reset: expect.any(Number), windowSeconds: 60 },
        { name: 'two', limit: 2, remaining: 2, reset: expect.any(Number), windowSeconds: 60 },
      ]);
    }
    expect((await verify()).body).toMatchObject({ valid: true, rateLimits: [{ remaining: DEFAULT_LIMIT - 1 }, { remaining: 1 }] });
    // A direct call and a verify count on the same counters.
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
    const refused = await verify();
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ valid: false, code: 'RATE_LIMIT_EXCEEDED', rateLimits: [{}, { name: 'two', remaining: 0 }] });
    expect((await verify(0)).body).toMatchObject({ valid: false, code: 'RATE_LIMIT_EXCEEDED' });
    expectRefused(await server.get('/v1/me/ping', plaintext));
  });

  it("does not throttle a verifying gateway by the default, only by limits its key was given", async () => {
    const gateway = await adminKeyWith(server, ['keys:verify']);
    const { plaintext } = await keyWith(BIG);
    // The consumer's own default (6) refuses its key, not the gateway's verify calls.
    const answers = [];
    for (let i = 0; i < DEFAULT_LIMIT * 2; i++) answers.push(await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, gateway));
    expect(answers.map((r) => r.status)).toEqual(Array(DEFAULT_LIMIT * 2).fill(200));
    expect(answers.every((r) => r.body.valid === true)).toBe(true);
    expect(answers[0].headers.get('ratelimit-policy')).toBeNull();
    // The same key is still limited by the default on every other route.
    for (let i = 0; i < DEFAULT_LIMIT; i++) expect((await server.get('/v1/admin/consumers?limit=1', await adminKeyWith(server, ['consumers:read']))).status).toBe(200);

    const sized = await adminKeyWith(server, ['keys:verify'], { rateLimits: [{ name: 'gateway', limit: 2, windowSeconds: 60 }] });
    expect((await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, sized)).status).toBe(200);
    const second = await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, sized);
    expect(second.headers.get('ratelimit-policy')).toBe('"gateway";q=2;w=60');
    expectRefused(await server.post('/v1/keys/verify', { key: plaintext, cost: 0 }, sized));
  });

  it('answers 429 after repeated failed authentications from one address, and still serves valid keys from it', async () => {
    const { plaintext } = await keyWith();
    const bad = `${plaintext.slice(0, -8)}AAAAAAAA`;
    for (let i = 0; i < AUTH_FAILURE_LIMIT; i++) {
      const r = await server.get('/v1/me/ping', bad);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('INVALID_API_KEY');
    }
    expectRefused(await server.get('/v1/me/ping', bad));
    expectRefused(await server.get('/v1/me/ping'));
    expect((await server.get('/v1/me/ping', plaintext)).status).toBe(200);
  });

  it('counts decisions in /metrics', async () => {
    const metrics = await server.get('/metrics');
    expect(metrics.text).toMatch(/tollgate_rate_limit_decisions_total\{decision="allowed",kind="rate"\} [1-9]/);
    expect(metrics.text).toMatch(/tollgate_rate_limit_decisions_total\{decision="limited",kind="rate"\} [1-9]/);
    expect(metrics.text).toMatch(/tollgate_redis_degraded 0/);
  });
});
