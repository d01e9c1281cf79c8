import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, TestServer } from './support/server';

/** The console's static files as the server hands them out (the browser suite drives the pages). */
describe('GET /dashboard', () => {
  let server: TestServer;

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'dashboard', 'index.html'))) throw new Error('the console is not built: run npm run build (nest build alone does not build it)');
    server = await TestServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves the page with a strict CSP, no inline script and nothing from another host', async () => {
    const r = await fetch(`${server.url}/dashboard/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    const csp = r.headers.get('content-security-policy') ?? '';
    for (const rule of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(rule);
    expect(csp).not.toContain('unsafe-inline');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    const html = await r.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/\bsrc="\/dashboard\/assets\//);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('redirects /dashboard to /dashboard/, and answers an unknown file with the error shape', async () => {
    const r = await fetch(`${server.url}/dashboard`, { redirect: 'manual' });
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/dashboard/');
    const missing = await server.offContract('the console\'s static files are not API operations', 'GET', '/dashboard/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('NOT_FOUND');
  });

  it('bundles its JavaScript in at most 250 KB gzipped, cached for good under hashed names', async () => {
    const html = await (await fetch(`${server.url}/dashboard/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]);
    let js = 0;
    for (const path of assets) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const body = Buffer.from(await r.arrayBuffer());
      if (path.endsWith('.js')) {
        js += gzipSync(body, { level: 9 }).length;
        // Everything the page needs is in the bundle: no import of a module from elsewhere.
        expect(body.toString('utf8')).not.toMatch(/\bimport\s*\(?\s*["']https?:/);
      }
    }
    process.stdout.write(`dashboard JavaScript: ${(js / 1024).toFixed(1)} KB gzipped\n`);
    expect(js).toBeGreaterThan(0);
    expect(js).toBeLessThanOrEqual(250 * 1024);
  });

  it('is not an API route: no key needed, and the API keeps answering as before', async () => {
    expect((await fetch(`${server.url}/dashboard/`)).status).toBe(200);
    expect((await server.get('/v1/admin/me')).status).toBe(401);
  });
});
