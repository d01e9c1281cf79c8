import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKeyWith, consumerWithKey, sleep } from '../support/fixtures';
import { freePort, ROOT, TestServer } from '../support/server';
import { aroundNow, qs, waitFor } from '../support/usage';

/**
 * Real gateways (Debian's nginx, Caddy, HAProxy), each started with its config from docs/gateways/ as it
 * is (nginx's placeholders filled in with envsubst's rules, the others read the environment), in front of
 * a small upstream: what a client gets through each is what a direct call to Tollgate gets. Envoy has no
 * Debian package: its config's check request is replayed against Tollgate as Envoy documents it.
 *
 * A gateway whose binary is missing is skipped, except under CI=true, where it fails.
 */

const DOCS = join(ROOT, 'docs', 'gateways');
const CI = process.env.CI === 'true' || process.env.CI === '1';

function binary(name: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    try {
      execFileSync('test', ['-x', join(dir, name)]);
      return join(dir, name);
    } catch {
      /* not here */
    }
  }
  return null;
}

/** envsubst '${A} ${B}': only the named placeholders, as docs/gateways/nginx.conf says. */
function envsubst(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => (name in vars ? vars[name] : whole));
}

async function waitForPort(port: number, proc: ChildProcess, logs: string[], timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`gateway exited (${proc.exitCode}):\n${logs.join('')}`);
    const open = await new Promise<boolean>((ok) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), ok(true)));
      s.once('error', () => ok(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`gateway not listening in ${timeoutMs} ms:\n${logs.join('')}`);
    await sleep(100);
  }
}

/** The upstream: answers 200 with what it received; counts every request that reaches it. */
class Upstream {
  readonly seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => {
      this.seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ upstream: true, url: req.url }));
    });
    await new Promise<void>((ok) => this.server.listen(this.port, '127.0.0.1', ok));
  }

  hits(prefix: string): number {
    return this.seen.filter((s) => s.url.startsWith(prefix)).length;
  }

  async stop(): Promise<void> {
    await new Promise((ok) => this.server.close(ok));
  }
}

interface Gateway {
  name: string;
  bin: string | null;
  start(env: Record<string, string>, port: number, dir: string): ChildProcess;
}

const GATEWAYS: Gateway[] = [
  {
    name: 'nginx',
    bin: binary('nginx'),
    start(env, port, dir) {
      mkdirSync(join(dir, 'tmp'), { recursive: true });
      writeFileSync(join(dir, 'nginx.conf'), envsubst(readFileSync(join(DOCS, 'nginx.conf'), 'utf8'), env));
      return spawn(this.bin!, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
  },
  {
    name: 'caddy',
    bin: binary('caddy'),
    start(env, port, dir) {
      return spawn(this.bin!, ['run', '--config', join(DOCS, 'Caddyfile'), '--adapter', 'caddyfile'], {
        env: { ...process.env, ...env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
  },
  {
    name: 'haproxy',
    bin: binary('haproxy'),
    start(env) {
      return spawn(this.bin!, ['-db', '-f', join(DOCS, 'haproxy.cfg')], {
        env: { ...process.env, ...env, TOLLGATE_LUA: join(DOCS, 'haproxy-tollgate.lua') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    },
  },
];

interface Seen {
  status: number;
  body: any;
  headers: Headers;
}

async function call(url: string, key?: string): Promise<Seen> {
  const r = await fetch(url, { headers: key ? { 'x-api-key': key } : {} });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: r.status, body, headers: r.headers };
}

const LIMIT_HEADERS = ['ratelimit-policy', 'x-ratelimit-limit'];

/** The body without its request id, which the X-Request-Id header must repeat. */
function withoutRequestId(seen: Seen): Record<string, unknown> {
  const { requestId, ...rest } = seen.body;
  expect(requestId).toBe(seen.headers.get('x-request-id'));
  return rest;
}

describe('gateways in front of Tollgate', () => {
  let server: TestServer;
  let gatewayKey: string;
  const upstream = new Upstream();

  beforeAll(async () => {
    // The gateways are trusted proxies: X-Forwarded-For is the client's address.
    server = await TestServer.start({ env: { LOG_LEVEL: 'warn', TRUST_PROXY: '1', AUTH_FAILURE_LIMIT: '100000' } });
    gatewayKey = await adminKeyWith(server, ['keys:verify']);
    await upstream.start();
  });

  afterAll(async () => {
    await upstream.stop();
    await server?.stop();
  });

  const key = (extra: Record<string, unknown> = {}) =>
    consumerWithKey(server, { scopes: ['orders:read', 'usage:read'], ...extra }).then((c) => ({ id: c.key.id as string, plaintext: c.plaintext as string, consumerId: c.consumer.id as string }));

  async function onPlan(quotas: unknown[]) {
    const plan = await server.post('/v1/admin/plans', { name: `p${Math.random().toString(36).slice(2, 8)}`, currency: 'USD', quotas }, server.adminKey);
    expect(plan.status).toBe(201);
    const c = await consumerWithKey(server, { scopes: ['orders:read'] }, { planId: plan.body.id });
    return { id: c.key.id as string, plaintext: c.plaintext as string };
  }

  /** The direct call's answer for the same case, to compare with (GET /v1/me/ping needs no scope). */
  const direct = (k?: string) => call(`${server.url}/v1/me/ping`, k);

  describe.each(GATEWAYS.map((g) => [g.name, g] as const))('%s', (name, gateway) => {
    const present = gateway.bin !== null;
    let proc: ChildProcess | undefined;
    let base = '';
    let dir = '';
    const logs: string[] = [];

    beforeAll(async () => {
      if (!present) {
        if (CI) throw new Error(`${name} is not installed, and CI is set: install it (see docs/gateways.md)`);
        return;
      }
      const port = await freePort();
      dir = mkdtempSync(join(tmpdir(), `tollgate-${name}-`));
      const env = {
        GATEWAY_LISTEN: `127.0.0.1:${port}`,
        TOLLGATE: new URL(server.url).host,
        UPSTREAM: `127.0.0.1:${upstream.port}`,
        TOLLGATE_GATEWAY_KEY: gatewayKey,
      };
      proc = gateway.start(env, port, dir);
      proc.stdout!.on('data', (c: Buffer) => logs.push(c.toString()));
      proc.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
      await waitForPort(port, proc, logs);
      base = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
      if (proc && proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((ok) => proc!.once('exit', ok));
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const run = present || CI ? it : it.skip;

    run('a valid key reaches the upstream with its consumer headers, and the client gets its limits', async () => {
      const k = await key();
      const r = await call(`${base}/orders/${name}/valid`, k.plaintext);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ upstream: true, url: `/orders/${name}/valid` });
      const got = upstream.seen.filter((s) => s.url === `/orders/${name}/valid`);
      expect(got).toHaveLength(1);
      expect(got[0].headers).toMatchObject({
        'x-tollgate-key-id': k.id,
        'x-tollgate-consumer-id': k.consumerId,
        'x-tollgate-environment': 'live',
        'x-tollgate-scopes': 'orders:read,usage:read',
      });
      expect(got[0].headers['x-api-key']).toBeUndefined();
      expect(r.headers.get('ratelimit-policy')).toBe('"default";q=1000;w=60');
      expect(r.headers.get('ratelimit')).toMatch(/^"default";r=999;t=\d+$/);
      expect(r.headers.get('x-ratelimit-remaining')).toBe('999');
    });

    run('no key and a bad key: the direct call\'s 401, body and headers; the upstream is never reached', async () => {
      for (const presented of [undefined, 'tg_live_garbage']) {
        const through = await call(`${base}/orders/${name}/refused`, presented);
        const d = await direct(presented);
        expect(through.status).toBe(401);
        expect(withoutRequestId(through)).toEqual(withoutRequestId(d));
        for (const h of [...LIMIT_HEADERS, 'retry-after']) expect(through.headers.get(h)).toBe(d.headers.get(h));
      }
      expect(upstream.hits(`/orders/${name}/refused`)).toBe(0);
    });

    run('a revoked key is refused within a second', async () => {
      const k = await key();
      expect((await call(`${base}/orders/${name}/revoked`, k.plaintext)).status).toBe(200);
      expect((await server.post(`/v1/admin/keys/${k.id}/revoke`, {}, server.adminKey)).status).toBe(200);
      await sleep(1000);
      const through = await call(`${base}/orders/${name}/revoked`, k.plaintext);
      expect(through.status).toBe(401);
      expect(withoutRequestId(through)).toEqual(withoutRequestId(await direct(k.plaintext)));
      expect(upstream.hits(`/orders/${name}/revoked`)).toBe(1);
    });

    run('a key without the scope: 403 INSUFFICIENT_PERMISSIONS, as a direct call to a route needing it', async () => {
      const k = await key({ scopes: ['usage:read'] });
      const through = await call(`${base}/orders/${name}/scope`, k.plaintext);
      expect(through.status).toBe(403);
      expect(withoutRequestId(through)).toEqual({ error: 'INSUFFICIENT_PERMISSIONS', message: 'Missing scope: orders:read', statusCode: 403 });
      expect(upstream.hits(`/orders/${name}/scope`)).toBe(0);
    });

    run('an exceeded rate limit: the direct call\'s 429, body, Retry-After and rate-limit headers', async () => {
      const limits = { rateLimits: [{ name: 'tight', limit: 2, windowSeconds: 60 }] };
      const [g, d] = [await key(limits), await key(limits)];
      const through: Seen[] = [];
      const directly: Seen[] = [];
      for (let i = 0; i < 3; i++) {
        through.push(await call(`${base}/orders/${name}/limit`, g.plaintext));
        directly.push(await direct(d.plaintext));
      }
      expect(through.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(directly.map((r) => r.status)).toEqual([200, 200, 429]);
      const [t, x] = [through[2], directly[2]];
      expect(withoutRequestId(t)).toEqual(withoutRequestId(x));
      expect(Math.abs(Number(t.headers.get('retry-after')) - Number(x.headers.get('retry-after')))).toBeLessThanOrEqual(1);
      for (const h of [...LIMIT_HEADERS, 'x-ratelimit-remaining']) expect({ h, v: t.headers.get(h) }).toEqual({ h, v: x.headers.get(h) });
      expect(t.headers.get('ratelimit')?.replace(/t=\d+/g, '')).toBe(x.headers.get('ratelimit')?.replace(/t=\d+/g, ''));
      expect(upstream.hits(`/orders/${name}/limit`)).toBe(2);
    });

    run('an exhausted quota: the direct call\'s 429 QUOTA_EXCEEDED with its body and headers', async () => {
      const quotas = [{ metric: 'requests', limit: 2, period: 'month' }];
      const [g, d] = [await onPlan(quotas), await onPlan(quotas)];
      const through: Seen[] = [];
      const directly: Seen[] = [];
      for (let i = 0; i < 3; i++) {
        through.push(await call(`${base}/orders/${name}/quota`, g.plaintext));
        directly.push(await direct(d.plaintext));
      }
      expect(through.map((r) => r.status)).toEqual([200, 200, 429]);
      expect(directly.map((r) => r.status)).toEqual([200, 200, 429]);
      const [t, x] = [through[2], directly[2]];
      expect(t.body.error).toBe('QUOTA_EXCEEDED');
      const strip = (b: Record<string, unknown>) => ({ ...b, message: String(b.message) });
      expect(strip(withoutRequestId(t))).toEqual(strip(withoutRequestId(x)));
      expect(t.headers.get('retry-after')).not.toBeNull();
      expect(t.headers.get('ratelimit-policy')).toBe(x.headers.get('ratelimit-policy'));
      expect(upstream.hits(`/orders/${name}/quota`)).toBe(2);
    });

    run('usage counts each allowed request once', async () => {
      const k = await key();
      for (let i = 0; i < 5; i++) expect((await call(`${base}/orders/${name}/count`, k.plaintext)).status).toBe(200);
      const read = async () => {
        const r = await server.get(`/v1/admin/usage/outcomes?${qs({ ...aroundNow(), keyId: k.id, granularity: 'hour' })}`, server.adminKey);
        return (r.body.totals as { outcome: string; quantity: number }[]).find((t) => t.outcome === 'VALID')?.quantity ?? 0;
      };
      expect(await waitFor(read, (n) => n >= 5)).toBe(5);
      await sleep(500);
      expect(await read()).toBe(5);
      expect(upstream.hits(`/orders/${name}/count`)).toBe(5);
    });
  });

  describe('envoy (ext_authz HTTP, its check request replayed from docs/gateways/envoy.yaml)', () => {
    const config = readFileSync(join(DOCS, 'envoy.yaml'), 'utf8');
    const pathPrefix = /path_prefix: "([^"]+)"/.exec(config)![1];
    const list = (section: string) => {
      const block = config.slice(config.indexOf(`${section}:`));
      const patterns = block.slice(block.indexOf('patterns:') + 'patterns:'.length);
      const lines = patterns.split('\n').slice(1);
      const out: string[] = [];
      for (const line of lines) {
        const m = /^\s+- exact: (\S+)/.exec(line);
        if (!m) break;
        out.push(m[1]);
      }
      return out;
    };

    /** What Envoy sends for a client request: its method, prefix + its path, the allowed headers, headers_to_add. */
    async function check(method: string, path: string, clientHeaders: Record<string, string>): Promise<Seen> {
      const headers: Record<string, string> = { 'x-tollgate-gateway-key': gatewayKey, 'x-forwarded-for': '127.0.0.1' };
      for (const h of list('allowed_headers')) if (clientHeaders[h] !== undefined) headers[h] = clientHeaders[h];
      const r = await fetch(`${server.url}${pathPrefix}${path}`, { method, headers });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
    }

    it('the config asks for the needs in a needs; segment and sends the gateway key', () => {
      expect(pathPrefix).toBe('/v1/keys/authorize/needs;scopes=orders:read;cost=1');
      expect(config).toContain('key: X-Tollgate-Gateway-Key');
      expect(list('allowed_upstream_headers')).toEqual(['x-tollgate-key-id', 'x-tollgate-consumer-id', 'x-tollgate-environment', 'x-tollgate-scopes']);
    });

    it('allowed: 200 with the headers Envoy passes upstream and back; the client path and query are not read as needs', async () => {
      const k = await key();
      const r = await check('POST', '/orders/1?cost=0&scopes=', { 'x-api-key': k.plaintext });
      expect(r.status).toBe(200);
      for (const h of list('allowed_upstream_headers')) expect(r.headers.get(h)).not.toBeNull();
      expect(r.headers.get('x-tollgate-key-id')).toBe(k.id);
      for (const h of list('allowed_client_headers_on_success')) expect(r.headers.get(h)).not.toBeNull();
    });

    it('refused: the status, body and headers Envoy hands the client are the direct call\'s', async () => {
      const noScope = await key({ scopes: ['usage:read'] });
      const scoped = await check('GET', '/orders/1', { 'x-api-key': noScope.plaintext });
      expect(scoped.status).toBe(403);
      expect(withoutRequestId(scoped)).toEqual({ error: 'INSUFFICIENT_PERMISSIONS', message: 'Missing scope: orders:read', statusCode: 403 });
      const missing = await check('GET', '/orders/1', {});
      expect(withoutRequestId(missing)).toEqual(withoutRequestId(await direct()));
      for (const h of ['x-request-id', 'content-type']) expect(list('allowed_client_headers')).toContain(h);
    });
  });
});
