import { applyDecorators, Controller, Delete, Get, HttpCode, Options, Patch, Post, Put, Req, Res, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiExcludeEndpoint, ApiExtension, ApiHeader, ApiOperation, ApiQuery, ApiResponse, ApiSecurity, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AUTHENTICATES, type Authenticates } from '../admission/authentication.hook';
import { GATEWAY_SCHEME, IS_PUBLIC, Public } from '../auth/decorators';
import { ErrorCode } from '../common/error-code';
import { errorExample, ErrorResponseDto } from '../common/error-response.dto';
import { AuthorizeService } from './authorize.service';

const RATE_LIMIT_HEADERS = ['RateLimit', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];
const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
const limitHeaders = () => Object.fromEntries(RATE_LIMIT_HEADERS.map((h) => [h, ref(h)]));

/** A refusal, answered with the status, body and headers a direct call would get. */
function refusal(status: number, codes: ErrorCode[], description: string, headers: Record<string, unknown>) {
  return ApiResponse({
    status,
    description,
    headers: {
      'X-Request-Id': ref('X-Request-Id'),
      'X-Tollgate-Error': {
        description: "The error body again, as one line of JSON: for gateways that keep an auth answer's headers but drop its body (nginx).",
        schema: { type: 'string' },
      },
      ...headers,
    } as never,
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(ErrorResponseDto) },
        examples: Object.fromEntries(codes.map((c) => [c, { summary: c, value: errorExample(c) }])),
      },
    },
  });
}

/** The OpenAPI description of the route (written once, on GET; the other methods behave the same). */
const ApiAuthorize = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'authorizeRequest',
      summary: 'Forward auth: may the client behind a gateway make this call?',
      description: [
        'For gateways (nginx `auth_request`, Caddy `forward_auth`, Envoy `ext_authz`, HAProxy, Traefik ForwardAuth); any HTTP method answers the same, and the body is never read.',
        'The gateway authenticates with its own admin key (`keys:verify`) in `X-Tollgate-Gateway-Key`; the client\'s key is read from the headers the client sent, as on a direct call (`X-API-Key`, `Authorization: Bearer`, `API_KEY_HEADER`).',
        'The route\'s needs come from the query string of the auth URL. The client\'s address is taken from `X-Forwarded-For` under `TRUST_PROXY` (the gateway is a trusted proxy).',
        'Allowed: 200 with an empty body and the key\'s headers for the gateway to pass upstream, and the rate-limit headers for the client. Refused: exactly the status, error body, `Retry-After` and rate-limit headers a direct call with that key would get. The verdict counts like a direct call: limits, quota and `cost` of `metric`.',
        'A missing or wrong gateway key is a misconfiguration: 500 `GATEWAY_KEY_INVALID`, logged at error level.',
      ].join('\n\n'),
    }),
    // The gateway's key: its own security scheme, and the scope and kind it needs.
    ApiSecurity(GATEWAY_SCHEME),
    ApiExtension('x-required-scopes', ['keys:verify']),
    ApiExtension('x-key-kinds', ['admin']),
    ApiHeader({ name: 'X-API-Key', required: false, description: "The client's key, as the client sent it (or `Authorization: Bearer`)." }),
    ApiHeader({ name: 'X-Original-Method', required: false, description: 'The method of the client\'s request (nginx); `X-Forwarded-Method` (Caddy, Traefik) also works.' }),
    ApiHeader({ name: 'X-Original-URI', required: false, description: 'The URI of the client\'s request (nginx); `X-Forwarded-Uri` (Caddy, Traefik) also works.' }),
    ApiQuery({ name: 'scopes', required: false, type: String, description: 'Comma-separated scopes the key must all hold.', example: 'orders:read' }),
    ApiQuery({ name: 'metric', required: false, type: String, description: 'The metric metered for an allowed call (default `requests`).', example: 'requests' }),
    ApiQuery({
      name: 'cost',
      required: false,
      schema: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 1 },
      description: 'Units of `metric` (default 1); 0 checks without counting limits, quota or usage.',
    }),
    ApiResponse({
      status: 200,
      description: 'Allowed: an empty body; pass the X-Tollgate-* headers upstream and the rate-limit headers back to the client',
      headers: {
        'X-Request-Id': ref('X-Request-Id'),
        'X-Tollgate-Key-Id': { required: true, description: "The client's key.", schema: { type: 'string', example: 'key_01JD5X3V8Q2mZt9aK3LpQw7Rv' } },
        'X-Tollgate-Consumer-Id': { required: true, description: 'Its consumer.', schema: { type: 'string', example: 'cons_01JD5X3V8Q2mZt9aK3LpQw7Rv' } },
        'X-Tollgate-Environment': { required: true, description: '`live`, or `test` for unbilled test traffic.', schema: { type: 'string', enum: ['live', 'test'] } },
        'X-Tollgate-Scopes': { required: true, description: "The key's scopes, comma-separated.", schema: { type: 'string', example: 'orders:read,usage:read' } },
        ...limitHeaders(),
      } as never,
    }),
    refusal(400, [ErrorCode.VALIDATION_FAILED], 'VALIDATION_FAILED: the query string of the auth URL is not valid', {}),
    refusal(401, [ErrorCode.MISSING_API_KEY, ErrorCode.INVALID_API_KEY, ErrorCode.KEY_EXPIRED, ErrorCode.KEY_REVOKED], "The client's key is missing, not valid, expired or revoked", {}),
    refusal(
      403,
      [ErrorCode.INSUFFICIENT_PERMISSIONS, ErrorCode.CONSUMER_SUSPENDED, ErrorCode.IP_NOT_ALLOWED, ErrorCode.ORIGIN_NOT_ALLOWED],
      'The client\'s key may not make this call (an admin key never may)',
      limitHeaders(),
    ),
    refusal(429, [ErrorCode.RATE_LIMIT_EXCEEDED, ErrorCode.QUOTA_EXCEEDED], 'A rate limit or the quota of the client\'s key; wait Retry-After seconds', {
      ...limitHeaders(),
      'Retry-After': ref('Retry-After'),
    }),
    refusal(500, [ErrorCode.GATEWAY_KEY_INVALID, ErrorCode.INTERNAL_ERROR], 'GATEWAY_KEY_INVALID: the gateway\'s own key is missing or wrong (or INTERNAL_ERROR, a bug)', {}),
    refusal(503, [ErrorCode.SERVICE_UNAVAILABLE], 'SERVICE_UNAVAILABLE: the database is unreachable, retry after Retry-After seconds', {
      'Retry-After': ref('Retry-After'),
    }),
  );

/** The gateway's key is checked by the route's hook, before anything else; the answer is 200 when allowed. */
const GatewayAuthenticated = () => applyDecorators(RouteConfig({ [AUTHENTICATES]: 'gateway' satisfies Authenticates }), HttpCode(200));

/** The other methods and the path form: served like the documented GET, left out of the document. */
const UndocumentedAuthorize = () => applyDecorators(Public(), GatewayAuthenticated(), ApiExcludeEndpoint());

/**
 * `/v1/keys/authorize`, any method. Public to the global guards (the client's key is not the caller): its
 * route hook authenticates the gateway's key before anything else, and the service takes the admission
 * step for the client's key.
 */
@ApiTags('Verification')
@Controller('keys')
export class AuthorizeController {
  constructor(private readonly authorizer: AuthorizeService) {}

  @Get('authorize')
  // Public to the global guards, like the other methods, but documented with the gateway key's security.
  @SetMetadata(IS_PUBLIC, true)
  @GatewayAuthenticated()
  @ApiAuthorize()
  authorize(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }

  /** `/v1/keys/authorize/needs;scopes=…/<client path>`: gateways that append the client's path (Envoy). */
  @Get('authorize/*')
  @UndocumentedAuthorize()
  authorizeGetWithPath(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }

  // One route per method, each with the gateway hook (Fastify's all() takes no route config), described
  // once above. Fastify answers HEAD with GET's route.
  @Post(['authorize', 'authorize/*'])
  @UndocumentedAuthorize()
  authorizePost(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }

  @Put(['authorize', 'authorize/*'])
  @UndocumentedAuthorize()
  authorizePut(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }

  @Patch(['authorize', 'authorize/*'])
  @UndocumentedAuthorize()
  authorizePatch(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }

  @Delete(['authorize', 'authorize/*'])
  @UndocumentedAuthorize()
  authorizeDelete(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }

  @Options(['authorize', 'authorize/*'])
  @UndocumentedAuthorize()
  authorizeOptions(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> | void {
    return this.authorizer.authorize(request, reply);
  }
}
