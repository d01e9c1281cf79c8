import { generateKey } from '../src/auth/key-format';
import { adminKeyWith, consumerWithKey, sleep } from './support/fixtures';
import { TestServer } from './support/server';
import { aroundNow, qs, waitFor } from './support/usage';

/**
 * One admission step, three doors: the same cases through a Tollgate route (a direct call), through
 * `POST /v1/keys/verify` and through `/v1/keys/authorize` (forward auth) give the same decision, the same
 * headers and the same counts.
 */

type Door = 'direct' | 'verify' | 'authorize';
const DOORS: Door[] = ['direct', 'verify', 'authorize'];

/** What a call presents and needs. `scopes` is [] or ['usage:read'] (the direct call picks a route that needs them). */
interface Call {
  key?: string;
  origin?: string;
  scopes?: string[];
  cost?: number;
}

interface Answer {
  door: Door;
  status: number;
  code: string;
  /** The error body without its requestId, for refusals of direct calls and forward auth. */
  error?: Record<string, unknown>;
  /** Remaining per named limit, as the answer tells it (headers, or verify's rateLimits); null when it tells none. */
  limits: Record<string, number> | null;
  policy: string | null;
  retryAfter: number | null;
  keyId: string | null;
  environment: string | null;
}

/** `"name";r=3;t=42, "other";r=1;t=5` → { name: 3, other: 1 }. */
function remainingOf(header: string | null): Record<string, number> | null {
  if (!header) return null;
  return Object.fromEntries(header.split(', ').map((item) => [/^"([^"]+)"/.exec(item)![1], Number(/;r=(\d+)/.exec(item)![1])]));
}

describe('one admission step through three doors', () => {
  let server: TestServer;
  let gatewayKey: string;

  beforeAll(async () => {
    // Many refusals come from this one address: the failed-authentication limit is not what is tested here.
    server = await TestServer.start({ env: { LOG_LEVEL: 'warn', AUTH_FAILURE_LIMIT: '100000' } });
    gatewayKey = await adminKeyWith(server, ['keys:verify']);
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function through(door: Door, call: Call): Promise<Answer> {
    const scoped = (call.scopes ?? []).includes('usage:read');
    if (door === 'verify') {
      const r = await server.post(
        '/v1/keys/verify',
        { key: call.key ?? '', scopes: call.scopes, cost: call.cost, origin: call.origin },
        gatewayKey,
      );
      expect(r.status).toBe(200);
      const limits = r.body.rateLimits.length ? Object.fromEntries(r.body.rateLimits.map((l: any) => [l.name, l.remaining])) : null;
      return { door, status: r.status, code: r.body.code, limits, policy: null, retryAfter: null, keyId: r.body.keyId, environment: r.body.environment };
    }
    const headers: Record<string, string> = {};
    if (call.key) headers['x-api-key'] = call.key;
    if (call.origin) headers.origin = call.origin;
    let r;
    if (door === 'direct') {
      r = await server.get(scoped ? `/v1/me/usage?${qs(aroundNow())}` : '/v1/me/ping', undefined, headers);
    } else {
      headers['x-tollgate-gateway-key'] = gatewayKey;
      const query = qs({ scopes: call.scopes?.join(','), cost: call.cost === undefined ? undefined : String(call.cost) });
      r = await server.get(`/v1/keys/authorize${query ? `?${query}` : ''}`, undefined, headers);
    }
    const ok = r.status === 200;
    let error: Record<string, unknown> | undefined;
    if (!ok) {
      const { requestId, ...rest } = r.body;
      expect(requestId).toBe(r.headers.get('x-request-id'));
      error = rest;
    }
    const retryAfter = r.headers.get('retry-after');
    return {
      door,
      status: r.status,
      code: ok ? 'VALID' : r.body.error,
      error,
      limits: remainingOf(r.headers.get('ratelimit')),
      policy: r.headers.get('ratelimit-policy'),
      retryAfter: retryAfter === null ? null : Number(retryAfter),
      keyId: ok ? (door === 'direct' ? (r.body.keyId ?? null) : r.headers.get('x-tollgate-key-id')) : null,
      environment: ok ? (door === 'direct' ? (r.body.environment ?? null) : r.headers.get('x-tollgate-environment')) : null,
    };
  }

  /** A consumer on a new plan with these quotas, and one key. */
  async function onPlan(quotas: unknown[], key: Record<string, unknown> = {}) {
    const plan = await server.post('/v1/admin/plans', { name: `p${Math.random().toString(36).slice(2, 8)}`, currency: 'USD', quotas }, server.adminKey);
    expect(plan.status).toBe(201);
    return consumerWithKey(server, key, { planId: plan.body.id });
  }

  interface Case {
    name: string;
    /** A fresh fixture for each door, so that each door's counters start alike. */
    setup: () => Promise<Call & { keyId?: string }>;
    /** The code of each call in turn. */
    expect: string[];
    environment?: string;
  }

  const cases: Case[] = [
    { name: 'a live secret key', setup: async () => ({ ...(await made()), scopes: [] }), expect: ['VALID'], environment: 'live' },
    { name: 'a test key (unbilled test traffic, told apart)', setup: async () => made({ environment: 'test' }), expect: ['VALID'], environment: 'test' },
    { name: 'no key', setup: async () => ({}), expect: ['MISSING_API_KEY'] },
    { name: 'a malformed key', setup: async () => ({ key: 'tg_live_garbage' }), expect: ['INVALID_API_KEY'] },
    { name: 'an unknown key with a valid checksum', setup: async () => ({ key: generateKey('tg', 'live').key }), expect: ['INVALID_API_KEY'] },
    {
      name: 'an expired key (rotated without grace)',
      setup: async () => {
        const m = await made();
        expect((await server.post(`/v1/admin/keys/${m.keyId}/rotate`, { gracePeriodSeconds: 0 }, server.adminKey)).status).toBe(201);
        return m;
      },
      expect: ['KEY_EXPIRED'],
    },
    {
      name: 'a revoked key',
      setup: async () => {
        const m = await made();
        expect((await server.post(`/v1/admin/keys/${m.keyId}/revoke`, {}, server.adminKey)).status).toBe(200);
        return m;
      },
      expect: ['KEY_REVOKED'],
    },
    {
      name: 'a key of a suspended consumer',
      setup: async () => {
        const c = await consumerWithKey(server);
        expect((await server.post(`/v1/admin/consumers/${c.consumer.id}/suspend`, {}, server.adminKey)).status).toBe(200);
        return { key: c.plaintext, keyId: c.key.id };
      },
      expect: ['CONSUMER_SUSPENDED'],
    },
    { name: 'an IP allowlist this address is not on', setup: async () => made({ allowedIps: ['10.9.9.9/32'] }), expect: ['IP_NOT_ALLOWED'] },
    { name: 'an IP allowlist this address is on', setup: async () => made({ allowedIps: ['127.0.0.1/32'] }), expect: ['VALID'] },
    {
      name: 'a publishable key from an origin it does not allow',
      setup: async () => ({ ...(await made(PUBLISHABLE)), origin: 'https://evil.example.com' }),
      expect: ['ORIGIN_NOT_ALLOWED'],
    },
    { name: 'a publishable key from its origin', setup: async () => ({ ...(await made(PUBLISHABLE)), origin: 'https://app.example.com' }), expect: ['VALID'] },
    { name: 'a key holding the scope', setup: async () => ({ ...(await made({ scopes: ['usage:read'] })), scopes: ['usage:read'] }), expect: ['VALID'] },
    {
      name: 'a key missing the scope',
      setup: async () => ({ ...(await made({ scopes: ['usage:write'] })), scopes: ['usage:read'] }),
      expect: ['INSUFFICIENT_PERMISSIONS'],
    },
    { name: 'an admin key', setup: async () => ({ key: await adminKeyWith(server, ['audit:read']) }), expect: ['INSUFFICIENT_PERMISSIONS'] },
    {
      name: "a key's own rate limit",
      setup: async () => made({ rateLimits: [{ name: 'tight', limit: 2, windowSeconds: 60 }] }),
      expect: ['VALID', 'VALID', 'RATE_LIMIT_EXCEEDED', 'RATE_LIMIT_EXCEEDED'],
    },
    {
      name: "the plan's quota",
      setup: async () => {
        const c = await onPlan([{ metric: 'requests', limit: 2, period: 'month' }]);
        return { key: c.plaintext, keyId: c.key.id };
      },
      expect: ['VALID', 'VALID', 'QUOTA_EXCEEDED'],
    },
  ];

  const PUBLISHABLE = { kind: 'publishable', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] };

  async function made(key: Record<string, unknown> = {}): Promise<{ key: string; keyId: string }> {
    const c = await consumerWithKey(server, key);
    return { key: c.plaintext, keyId: c.key.id };
  }

  /** Per door, the keys used and how many calls each door admitted with them. */
  const admitted: { keyId: string; consumerId?: string; door: Door; valid: number; refusals: Record<string, number> }[] = [];

  it.each(cases.map((c) => [c.name, c] as const))('%s: the same decision, headers and counts through every door', async (_name, c) => {
    const answers = {} as Record<Door, Answer[]>;
    for (const door of DOORS) {
      const call = await c.setup();
      answers[door] = [];
      for (let i = 0; i < c.expect.length; i++) answers[door].push(await through(door, call));
      if (call.keyId) {
        const refusals: Record<string, number> = {};
        for (const a of answers[door]) if (a.code !== 'VALID') refusals[a.code] = (refusals[a.code] ?? 0) + 1;
        admitted.push({ keyId: call.keyId, door, valid: answers[door].filter((a) => a.code === 'VALID').length, refusals });
        // /v1/me/usage (the direct call needing a scope) does not name the key; every other door does.
        const named = door !== 'direct' || !(call.scopes ?? []).length;
        for (const a of answers[door]) if (a.code === 'VALID' && named) expect({ door, keyId: a.keyId }).toEqual({ door, keyId: call.keyId });
      }
    }
    for (const door of DOORS) {
      expect({ door, codes: answers[door].map((a) => a.code) }).toEqual({ door, codes: c.expect });
      expect({ door, limits: answers[door].map((a) => a.limits) }).toEqual({ door, limits: answers.direct.map((a) => a.limits) });
      if (c.environment) expect({ door, environment: answers[door][0].environment }).toEqual({ door, environment: c.environment });
    }
    // Forward auth answers what the direct call answered: status, error body, Retry-After, rate-limit headers.
    answers.authorize.forEach((a, i) => {
      const d = answers.direct[i];
      // retryAfter counts down in whole seconds: two answers a moment apart may straddle a second (checked below).
      const body = (e: typeof a.error) => (e && typeof e === 'object' && 'retryAfter' in e ? { ...e, retryAfter: typeof e.retryAfter } : e);
      expect({ status: a.status, error: body(a.error), policy: a.policy, limits: a.limits }).toEqual({ status: d.status, error: body(d.error), policy: d.policy, limits: d.limits });
      if (a.error && d.error && typeof a.error === 'object' && typeof d.error === 'object' && 'retryAfter' in a.error && 'retryAfter' in d.error) {
        expect(Math.abs(Number(a.error.retryAfter) - Number(d.error.retryAfter))).toBeLessThanOrEqual(1);
      }
      expect(a.retryAfter === null).toBe(d.retryAfter === null);
      if (d.retryAfter !== null) expect(Math.abs(a.retryAfter! - d.retryAfter)).toBeLessThanOrEqual(1);
    });
  });

  it('one key through all three doors in turn shares one set of counters', async () => {
    const call = await made({ rateLimits: [{ name: 'shared', limit: 3, windowSeconds: 60 }] });
    const first = [];
    for (const door of DOORS) first.push(await through(door, call));
    // The consumer's default limit counts alongside the key's own.
    expect(first.map((a) => [a.code, a.limits])).toEqual([
      ['VALID', { shared: 2, default: 999 }],
      ['VALID', { shared: 1, default: 998 }],
      ['VALID', { shared: 0, default: 997 }],
    ]);
    const then = [];
    for (const door of DOORS) then.push((await through(door, call)).code);
    expect(then).toEqual(['RATE_LIMIT_EXCEEDED', 'RATE_LIMIT_EXCEEDED', 'RATE_LIMIT_EXCEEDED']);
    admitted.push({ keyId: call.keyId, door: 'direct', valid: 3, refusals: { RATE_LIMIT_EXCEEDED: 3 } });
  });

  it('cost 0 checks without counting: limits, quota and usage stay as they were (verify and forward auth)', async () => {
    const c = await onPlan([{ metric: 'requests', limit: 1, period: 'month' }], { rateLimits: [{ name: 'one', limit: 1, windowSeconds: 60 }] });
    const call = { key: c.plaintext, cost: 0 };
    for (const door of ['verify', 'authorize'] as Door[]) {
      for (let i = 0; i < 3; i++) expect(await through(door, call)).toMatchObject({ code: 'VALID', limits: { one: 1 } });
    }
    // Still unused: the first counted call is admitted, the next refused.
    expect((await through('authorize', { key: c.plaintext })).code).toBe('VALID');
    expect((await through('verify', { key: c.plaintext, cost: 0 })).code).toBe('RATE_LIMIT_EXCEEDED');
    admitted.push({ keyId: c.key.id, door: 'authorize', valid: 1, refusals: {} });
  });

  it('a key revoked mid-run is refused through every door within a second', async () => {
    const call = await made();
    for (const door of DOORS) expect((await through(door, call)).code).toBe('VALID');
    expect((await server.post(`/v1/admin/keys/${call.keyId}/revoke`, {}, server.adminKey)).status).toBe(200);
    await sleep(1000);
    for (const door of DOORS) expect({ door, code: (await through(door, call)).code }).toEqual({ door, code: 'KEY_REVOKED' });
    admitted.push({ keyId: call.keyId, door: 'direct', valid: 3, refusals: { KEY_REVOKED: 3 } });
  });

  it('usage counts each admitted call once, whichever door; refusals of known keys count once among their outcomes', async () => {
    const range = aroundNow();
    for (const { keyId, door, valid, refusals } of admitted) {
      const read = async () => {
        const r = await server.get(`/v1/admin/usage/outcomes?${qs({ ...range, keyId, granularity: 'hour' })}`, server.adminKey);
        expect(r.status).toBe(200);
        return Object.fromEntries((r.body.totals as { outcome: string; quantity: number }[]).map((t) => [t.outcome, t.quantity]));
      };
      const want = { ...(valid ? { VALID: valid } : {}), ...refusals };
      const totals = await waitFor(read, (t) => JSON.stringify(Object.entries(t).sort()) === JSON.stringify(Object.entries(want).sort()));
      expect({ keyId, door, totals }).toEqual({ keyId, door, totals: want });
    }
  });
});
