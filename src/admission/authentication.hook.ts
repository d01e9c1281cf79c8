import { PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { IS_PUBLIC } from '../auth/decorators';
import { Admission } from './admission.service';

/**
 * Route config: the route authenticates in onRequest, before its body is read — the client's key (`key`),
 * or a gateway's key in X-Tollgate-Gateway-Key (`gateway`, forward auth).
 */
export const AUTHENTICATES = 'tollgateAuthenticates';
export type Authenticates = 'key' | 'gateway';

/**
 * Authenticates every route that needs a key in an onRequest hook of that route, so that a request with a
 * missing or invalid key is refused before a byte of its body is read or parsed: an unauthenticated client
 * cannot make the server parse anything. Public routes get no hook at all. ApiKeyGuard then finds the
 * request authenticated; scopes, limits and quota stay with the global guards, which need the handler.
 *
 * Must run before the application registers its routes (createApp, before init/listen): which routes
 * need a key is read from the controllers' decorators (handler over controller, as the guards read it) and
 * written into each handler's Fastify route config, which an onRoute hook reads.
 */
export function installAuthentication(app: NestFastifyApplication): void {
  const admission = app.get(Admission);
  const reflector = app.get(Reflector);
  const scanner = new MetadataScanner();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const cls = wrapper.metatype as (new (...args: unknown[]) => unknown) | null;
      if (!cls?.prototype) continue;
      for (const name of scanner.getAllMethodNames(cls.prototype)) {
        const handler = (cls.prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function' || !Reflect.hasMetadata(PATH_METADATA, handler)) continue;
        if (reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, cls]) === true) continue;
        const config = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) as object | undefined) ?? {};
        Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...config, [AUTHENTICATES]: 'key' }, handler);
      }
    }
  }

  const authenticateKey = hook((request) => admission.authenticateRequest(request));
  const authenticateGateway = hook((request) => admission.authenticateGateway(request));

  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route: RouteOptions) => {
      const what = (route.config as Record<string, unknown> | undefined)?.[AUTHENTICATES] as Authenticates | undefined;
      if (what === undefined) return;
      const added = what === 'gateway' ? authenticateGateway : authenticateKey;
      const own = route.onRequest;
      // HEAD routes that Fastify derives from GET ones come through here with GET's hooks already on.
      if (own === added || (Array.isArray(own) && own.includes(added))) return;
      route.onRequest = own === undefined ? [added] : Array.isArray(own) ? [...own, added] : [own, added];
    });
}

/** A callback hook around one authentication: no promise per request when the key is cached. */
function hook(authenticate: (request: FastifyRequest) => true | Promise<true>): onRequestHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    let admitted: true | Promise<true>;
    try {
      admitted = authenticate(request);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (admitted === true) {
      done();
      return;
    }
    admitted.then(
      () => done(),
      (err: Error) => {
        // A refused request's body is never read: the connection closes after the answer, so that the
        // unread body cannot be taken for the next request (the server lingers to read and discard it).
        if (hasBody(request)) reply.header('connection', 'close');
        done(err);
      },
    );
  };
}

function hasBody(request: FastifyRequest): boolean {
  const h = request.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}
