import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyRequest } from 'fastify';

/**
 * The request being served, for code that logs without a request in hand (services logging through
 * Nest's Logger): every line written while a request is served carries its id.
 */
export const requestContext = new AsyncLocalStorage<FastifyRequest>();

/** reqId (as Fastify's own request logger names it) and the calling key's id, when inside a request. */
export function requestBindings(): { reqId?: string; keyId?: string } {
  const request = requestContext.getStore();
  if (!request) return {};
  return { reqId: String(request.id), keyId: request.auth?.key.id };
}

/** What ApiKeyGuard concluded about the presented key, for the request log line. */
export interface KeyVerificationNote {
  code: string;
  keyId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    keyVerification?: KeyVerificationNote;
  }
}
