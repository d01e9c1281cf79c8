import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';

/** Where `npm run build` puts the console (vite's outDir), next to the compiled server in dist/. */
export const DASHBOARD_DIR = join(__dirname, '..', '..', 'dashboard');

/**
 * The console's pages load only their own bundled files and talk only to this API: no inline script,
 * no other host, no framing. Inline style attributes stay forbidden too (charts set styles through
 * the DOM, which CSP allows).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * Serves the built console at /dashboard/ (and redirects /dashboard there). Assets have hashed names
 * and are cached for good; index.html is revalidated so a new build shows at once.
 * Only the files of the build are routes (listed once, at start): any other path under /dashboard — `..`,
 * `//`, encoded dots or backslashes — matches no route and is a plain 404, so no request can name a file
 * outside the build. The console routes in the URL fragment, so it needs no catch-all.
 * Returns false when the console was not built (a server built with `nest build` alone).
 */
export async function registerDashboardAssets(fastify: FastifyInstance, dir = DASHBOARD_DIR): Promise<boolean> {
  if (!existsSync(join(dir, 'index.html'))) return false;
  const { default: fastifyStatic } = await import('@fastify/static');
  fastify.get('/dashboard', (_request, reply) => reply.redirect('/dashboard/', 301));
  // Not awaited: the plugin loads with the others when the server becomes ready.
  void fastify.register(fastifyStatic, {
    root: dir,
    prefix: '/dashboard/',
    decorateReply: false,
    wildcard: false,
    redirect: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders: (reply, path) => {
      for (const [name, value] of Object.entries(HEADERS)) reply.header(name, value);
      reply.header('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return true;
}
