import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiSecurity, DECORATORS } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrorResponse } from '../common/error-response.dto';
import type { AuthContext } from './auth-key';
import type { KeyKind } from './scopes';

export const IS_PUBLIC = 'tollgate:public';
export const REQUIRED_SCOPES = 'tollgate:scopes';
export const KEY_KINDS = 'tollgate:kinds';
/** The key in `X-API-Key`. */
export const SECURITY_SCHEME = 'api-key';
/** The same key as `Authorization: Bearer <key>`. */
export const BEARER_SCHEME = 'bearer';
/** A gateway's own admin key on /v1/keys/authorize, in `X-Tollgate-Gateway-Key`. */
export const GATEWAY_SCHEME = 'gateway-key';

/**
 * Opts a route out of key authentication. Everything else is denied unless it declares its scopes. Its
 * OpenAPI operations say `security: []`: no credentials.
 */
export const Public = () => applyDecorators(SetMetadata(IS_PUBLIC, true), SetMetadata(DECORATORS.API_SECURITY, []));

/**
 * Declares what a route needs (all of `scopes`; none is a valid declaration) and writes the OpenAPI
 * security requirement. OpenAPI 3.0 has no scopes on apiKey schemes, so they go in `x-required-scopes`.
 */
export const RequireScopes = (...scopes: string[]) =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPES, scopes),
    // Either header works: two alternative requirements.
    ApiSecurity(SECURITY_SCHEME),
    ApiSecurity(BEARER_SCHEME),
    ApiExtension('x-required-scopes', scopes),
    ApiErrorResponse(401, 'MISSING_API_KEY, INVALID_API_KEY, KEY_EXPIRED or KEY_REVOKED'),
    ApiErrorResponse(403, 'INSUFFICIENT_PERMISSIONS, CONSUMER_SUSPENDED, IP_NOT_ALLOWED or ORIGIN_NOT_ALLOWED'),
    ApiErrorResponse(429, 'RATE_LIMIT_EXCEEDED or QUOTA_EXCEEDED; wait Retry-After seconds'),
    ApiErrorResponse(503, 'SERVICE_UNAVAILABLE: the database is unreachable, retry after Retry-After seconds'),
  );

/** Which kinds of key reach a controller: admin routes take admin keys, /me and /usage consumer keys. */
export const KeyKinds = (...kinds: KeyKind[]) => applyDecorators(SetMetadata(KEY_KINDS, kinds), ApiExtension('x-key-kinds', kinds));
export const AdminOnly = () => KeyKinds('admin');
export const ConsumerOnly = () => KeyKinds('secret', 'publishable');

/** The authenticated key of the request (set by ApiKeyGuard). */
export const CurrentAuth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const auth = ctx.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth) throw new Error('CurrentAuth used on a route without authentication');
  return auth;
});
