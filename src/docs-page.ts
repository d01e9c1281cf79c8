import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * What the Swagger UI page at /docs may load: its own scripts and styles (the page carries inline style
 * blocks and attributes, never inline script), and requests to this API only. Not framed by anyone.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'content-security-policy': DOCS_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Sends every response under /docs (the page, its init script and assets) with DOCS_CSP. */
export function protectDocsPage(fastify: FastifyInstance, path = '/docs'): void {
  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const url = request.url;
    if (url.startsWith(path) && (url.length === path.length || url[path.length] === '/' || url[path.length] === '?')) {
      for (const [name, value] of Object.entries(HEADERS)) reply.header(name, value);
    }
    done();
  });
}

/* Below: functions that run in the browser. Swagger UI's options are written into its init script with
   each function's source text, so they refer to nothing outside themselves. */

/** Swagger UI's default plugin (the spec loader), kept beside ours: a `plugins` option replaces the list. */
export function downloadUrlPlugin(system: unknown): unknown {
  return (globalThis as unknown as { SwaggerUIBundle: { plugins: { DownloadUrl: (s: unknown) => unknown } } }).SwaggerUIBundle.plugins.DownloadUrl(system);
}

/**
 * Keeps the authorization for this tab only, in sessionStorage, the way the console keeps its key: it
 * survives a reload but not the tab, and is never written to localStorage (which Swagger UI's own
 * `persistAuthorization` uses, for good).
 */
export function sessionAuthorizationPlugin(): unknown {
  const KEY = 'tollgate.docs.authorized';
  type System = { authSelectors: { authorized(): { toJS(): unknown } }; authActions: { restoreAuthorization(p: { authorized: unknown }): void } };
  type Action = (...args: unknown[]) => unknown;
  const save = (system: System) => {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(system.authSelectors.authorized().toJS()));
    } catch {
      // Storage unavailable (private mode, quota): the authorization lasts as long as the page.
    }
  };
  const thenSave = (ori: Action, system: System) => (...args: unknown[]) => {
    const out = ori(...args);
    save(system);
    return out;
  };
  return {
    statePlugins: {
      auth: { wrapActions: { authorize: thenSave, logout: thenSave } },
      // Where Swagger UI restores its own persisted authorization: once its configuration has loaded.
      configs: {
        wrapActions: {
          loaded: (ori: Action, system: System) => (...args: unknown[]) => {
            const out = ori(...args);
            try {
              const saved = sessionStorage.getItem(KEY);
              if (saved) system.authActions.restoreAuthorization({ authorized: JSON.parse(saved) });
            } catch {
              // Nothing restorable: sign in again.
            }
            return out;
          },
        },
      },
    },
  };
}
