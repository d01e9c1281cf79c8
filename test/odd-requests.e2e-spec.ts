import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { consumerWithKey } from './support/fixtures';
import { ROOT, TestServer } from './support/server';

/** A request sent exactly as written (like curl --path-as-is): fetch would normalise the path first. */
function rawGet(base: string, path: string): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(base);
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: url.hostname, port: Number(url.port), method: 'GET', path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

/** Requests shaped to hurt: bodies nested past any use, paths that climb out of a static root. */
describe('odd requests', () => {
  let server: TestServer;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'dashboard', 'index.html'))) throw new Error('the console is not built: run npm run build');
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const errorLines = () => server.jsonLogs().filter((l) => l.level === 'error' || (typeof l.level === 'number' && l.level >= 50));

  describe('deeply nested JSON', () => {
    /** 150,000 levels in about 900 KB. */
    const deep = '{"a":'.repeat(150_000) + '1' + '}'.repeat(150_000);

    it('is refused with 400 while it is parsed, on an admin route', async () => {
      const started = Date.now();
      const r = await server.request('POST', '/v1/admin/consumers', { key: server.adminKey, rawBody: deep, headers: { 'content-type': 'application/json' } });
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 400, error: 'VALIDATION_FAILED' });
      expect(r.body.details).toEqual([{ field: 'body', message: 'nests arrays or objects deeper than 64 levels' }]);
      expect(r.text).not.toContain('call stack');
      // Generous for a shared machine: the refusal is a linear scan, not a parse and a recursive walk.
      expect(Date.now() - started).toBeLessThan(3000);
      expect(errorLines()).toEqual([]);
    });

    it('is refused on POST /v1/usage/events, with a secret and a publishable key', async () => {
      const { plaintext: secret, consumer } = await consumerWithKey(server);
      const pub = await server.post(
        `/v1/admin/consumers/${consumer.id}/keys`,
        { kind: 'publishable', name: 'browser', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] },
        server.adminKey,
      );
      expect(pub.status).toBe(201);
      const events = `{"events":[{"metric":"requests","quantity":1,"metadata":${'['.repeat(100)}${']'.repeat(100)}}]}`;
      for (const [key, headers] of [
        [secret, {}],
        [pub.body.key, { origin: 'https://app.example.com' }],
      ] as const) {
        for (const body of [deep, events]) {
          const r = await server.request('POST', '/v1/usage/events', { key, rawBody: body, headers: { 'content-type': 'application/json', ...headers } });
          expect({ status: r.status, error: r.body.error, details: r.body.details }).toEqual({
            status: 400,
            error: 'VALIDATION_FAILED',
            details: [{ field: 'body', message: 'nests arrays or objects deeper than 64 levels' }],
          });
        }
      }
      expect(errorLines()).toEqual([]);
    });

    it('still takes nesting up to the limit, and brackets inside strings do not count', async () => {
      const metadata = JSON.parse('{"a":'.repeat(60) + '"[[[[{{{{"' + '}'.repeat(60));
      const r = await server.post('/v1/admin/consumers', { name: 'deep but fine', metadata: { m: metadata } }, server.adminKey);
      expect(r.status).toBe(201);
    });
  });

  describe('paths under /dashboard and /docs', () => {
    const paths = [
      '/dashboard//etc/passwd',
      '/dashboard/../package.json',
      '/dashboard/../../package.json',
      '/dashboard/assets/../../src/main.js',
      '/dashboard/assets/../../../package.json',
      '/dashboard/%2e%2e/package.json',
      '/dashboard/assets/%2e%2e/%2e%2e/src/main.js',
      '/dashboard/..%2f..%2fpackage.json',
      '/dashboard/%5c..%5cpackage.json',
      '/dashboard/%00',
      '/dashboard/%',
      '/dashboard/%c0%ae%c0%ae/package.json',
      '/dashboard/assets/',
      '/dashboard/index.html/',
      '/dashboard/.env',
      '/docs/../package.json',
      '/docs//etc/passwd',
      '/docs/%2e%2e/%2e%2e/package.json',
      '/docs/../../src/main.ts',
      '/v1/admin/consumers/%',
    ];

    it.each(paths)('%s is a 404 in the error shape, and serves no file', async (path) => {
      const r = await rawGet(server.url, path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(JSON.parse(r.text)).toMatchObject({ error: 'NOT_FOUND', statusCode: 404, requestId: expect.any(String) });
      expect(r.text).not.toContain('"name": "tollgate"');
      expect(r.text).not.toContain('root:');
    });

    it('logs no error or stack trace for any of them', () => {
      expect(errorLines()).toEqual([]);
      expect(server.logs.join('\n')).not.toMatch(/forbiddenPathError|at .*node_modules/);
    });

    it('still serves the console and its assets', async () => {
      const page = await rawGet(server.url, '/dashboard/');
      expect(page.status).toBe(200);
      const asset = /src="(\/dashboard\/assets\/[^"]+)"/.exec(page.text)![1];
      expect((await rawGet(server.url, asset)).status).toBe(200);
      expect((await rawGet(server.url, '/dashboard/index.html')).status).toBe(200);
    });
  });

  describe('/docs', () => {
    it('is sent with a Content-Security-Policy that forbids framing', async () => {
      for (const path of ['/docs', '/docs/', '/docs/swagger-ui-init.js', '/docs/swagger-ui.css']) {
        const r = await rawGet(server.url, path);
        expect({ path, status: r.status }).toEqual({ path, status: 200 });
        const csp = String(r.headers['content-security-policy'] ?? '');
        for (const rule of ["frame-ancestors 'none'", "script-src 'self'", "default-src 'none'", "connect-src 'self'"]) expect({ path, csp }).toEqual({ path, csp: expect.stringContaining(rule) });
        expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
        expect(r.headers['x-frame-options']).toBe('DENY');
      }
    });

    it('runs no inline script, so the policy holds', async () => {
      for (const path of ['/docs', '/docs/']) {
        const html = (await rawGet(server.url, path)).text;
        for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc=/);
      }
    });

    it('keeps a pasted key for the tab only: sessionStorage, never localStorage', async () => {
      const init = (await rawGet(server.url, '/docs/swagger-ui-init.js')).text;
      expect(init).not.toMatch(/"persistAuthorization":\s*true/);
      expect(init).not.toContain('localStorage');
      expect(init).toContain('sessionStorage');
    });
  });
});
