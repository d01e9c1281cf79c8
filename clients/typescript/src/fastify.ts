import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { contextOf, type TollgateContext } from './context';
import type { UsageReporter } from './usage-reporter';
import type { Requirement, Verifier } from './verifier';

declare module 'fastify' {
  interface FastifyRequest {
    tollgate: TollgateContext | null;
  }
  interface FastifyContextConfig {
    /** What the route needs of the key; a route without it is not checked (or denied, with `protectAll`). */
    tollgate?: Requirement | false;
  }
}

export interface FastifyTollgateOptions {
  verifier: Verifier;
  reporter?: UsageReporter;
  /** Every route is verified unless its config says `tollgate: false`. Default false: only routes with `config.tollgate`. */
  protectAll?: boolean;
}

/**
 * A Fastify plugin: `app.register(tollgateFastify, { verifier })`, then per route
 * `{ config: { tollgate: { scopes: ['orders:read'] } } }`. Verifies in an `onRequest` hook, before the body is
 * read; refusals get Tollgate's status, error body and headers; admitted requests carry `request.tollgate`.
 * The reporter, if given, is flushed and closed when the server closes.
 */
export async function tollgateFastify(app: FastifyInstance, options: FastifyTollgateOptions): Promise<void> {
  const { verifier, reporter } = options;
  app.decorateRequest('tollgate', null);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config.tollgate;
    if (config === false || (config === undefined && !options.protectAll)) return;
    const verification = await verifier.verify({
      ...(config ?? {}),
      key: verifier.keyFrom(request.headers),
      ip: request.ip,
      origin: request.headers.origin,
      requestId: request.headers['x-request-id'] as string | undefined,
    });
    const { answer } = verification;
    reply.headers(answer.headers);
    if (!verification.allowed) return reply.code(answer.status).send(answer.body);
    request.tollgate = contextOf(verification, reporter);
  });
  app.addHook('onClose', async () => {
    await reporter?.close();
    await verifier.close();
  });
}
// Hooks apply to the whole application, not only to routes registered inside the plugin (what fastify-plugin does).
(tollgateFastify as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
