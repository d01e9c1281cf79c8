import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who made a change, for the audit log. */
export interface Actor {
  keyId: string | null;
  consumerId: string | null;
  scopes: string[];
  ip: string | null;
  requestId: string | null;
}

export const SYSTEM_ACTOR: Actor = { keyId: null, consumerId: null, scopes: ['*'], ip: null, requestId: null };

export function actorOf(request: FastifyRequest): Actor {
  return {
    keyId: request.auth?.key.id ?? null,
    consumerId: request.auth?.key.consumer?.id ?? null,
    scopes: request.auth?.key.scopes ?? [],
    ip: request.auth?.ip ?? request.ip ?? null,
    requestId: String(request.id),
  };
}

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor =>
  actorOf(ctx.switchToHttp().getRequest<FastifyRequest>()),
);
