import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { errorCodes as fastifyErrors } from 'fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from './app.exception';
import { isDatabaseUnavailable, isDuplicateKey } from './db-errors';
import { DEFAULT_MESSAGES, ERROR_STATUS, ErrorCode } from './error-code';

const STATUS_TO_CODE: Record<number, ErrorCode> = {
  400: ErrorCode.VALIDATION_FAILED,
  401: ErrorCode.INVALID_API_KEY,
  403: ErrorCode.INSUFFICIENT_PERMISSIONS,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMIT_EXCEEDED,
  503: ErrorCode.SERVICE_UNAVAILABLE,
};

/** Set by the rate limiter once a request's key is known. */
const RATE_LIMIT_HEADERS = ['RateLimit-Policy', 'RateLimit', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

/** Maps everything thrown below a controller, and Fastify's own errors, into the one error shape. */
export function toAppException(err: unknown): AppException {
  if (err instanceof AppException) return err;
  if (err instanceof ThrottlerException) return new AppException(ErrorCode.RATE_LIMIT_EXCEEDED);
  if (err instanceof HttpException) {
    const status = err.getStatus();
    // Nest turns Fastify's errors into HttpException(message, status), dropping their code.
    const fastifyCode = FASTIFY_BODY_ERRORS.get(err.getResponse() as string);
    if (fastifyCode) return bodyError(fastifyCode, err);
    const code = STATUS_TO_CODE[status] ?? (status >= 500 ? ErrorCode.INTERNAL_ERROR : ErrorCode.VALIDATION_FAILED);
    const body = err.getResponse();
    const message =
      status === 404
        ? 'Route not found'
        : typeof body === 'object' && body && typeof (body as { message?: unknown }).message === 'string'
          ? (body as { message: string }).message
          : DEFAULT_MESSAGES[code];
    return new AppException(code, status >= 500 ? DEFAULT_MESSAGES[code] : message);
  }
  const fastifyCode = (err as { code?: string })?.code;
  const fastifyStatus = (err as { statusCode?: number })?.statusCode;
  if (typeof fastifyCode === 'string' && fastifyCode.startsWith('FST_ERR_CTP')) return bodyError(fastifyCode, err as Error);
  // A path that cannot be decoded, or a parameter past the router's length limit, names no resource.
  if (fastifyCode === 'FST_ERR_BAD_URL' || fastifyCode === 'FST_ERR_MAX_PARAM_LENGTH') return new AppException(ErrorCode.NOT_FOUND, 'Route not found');
  // @fastify/static (the /docs assets) refuses a path that climbs out of its root with a plain 403 error:
  // nothing there is a file it serves.
  if (fastifyStatus === 403 || fastifyStatus === 404) return new AppException(ErrorCode.NOT_FOUND, 'Route not found');
  if (fastifyStatus === 413) return new AppException(ErrorCode.PAYLOAD_TOO_LARGE);
  if (isDatabaseUnavailable(err)) return AppException.unavailable();
  if (isDuplicateKey(err)) return AppException.conflict('A resource with the same unique value already exists');
  return new AppException(ErrorCode.INTERNAL_ERROR);
}

/** Fastify's request-body errors by message, which is all Nest keeps of them. */
const FASTIFY_BODY_ERRORS = new Map(
  (['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_CTP_INVALID_JSON_BODY'] as const).map(
    (code) => [new fastifyErrors[code]().message, code] as const,
  ),
);

/** Fastify's errors about the request body, in the words of this API. */
function bodyError(code: string, err: Error): AppException {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppException(ErrorCode.PAYLOAD_TOO_LARGE);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppException(ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return AppException.validation([{ field: 'body', message: 'is not valid JSON' }], 'The request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return AppException.validation([{ field: 'body', message: 'does not have the length Content-Length says' }]);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return AppException.validation(
        [{ field: 'body', message: 'is empty, but Content-Type says JSON: send a JSON value or no Content-Type' }],
        'The request body is empty',
      );
    default:
      return new AppException(ErrorCode.VALIDATION_FAILED, err.message);
  }
}

/** The error shape of an exception, as the response body carries it. */
export function errorBody(ex: AppException, requestId: string): Record<string, unknown> {
  const body: Record<string, unknown> = { error: ex.code, message: ex.message, statusCode: ERROR_STATUS[ex.code], requestId };
  if (ex.extra.retryAfter !== undefined) body.retryAfter = ex.extra.retryAfter;
  if (ex.extra.details) body.details = ex.extra.details;
  return body;
}

export function renderError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const ex = toAppException(err);
  // Read by the per-key outcome counter (a rate limit and a quota both answer 429).
  request.errorCode = ex.code;
  if (ex.code === ErrorCode.INTERNAL_ERROR) request.log.error({ err: describeError(err) }, 'unhandled error');
  else if (ex.code === ErrorCode.SERVICE_UNAVAILABLE) request.log.warn({ err: (err as Error)?.message }, 'dependency unavailable');
  const body = errorBody(ex, request.id);
  if (ex.extra.retryAfter !== undefined) reply.header('Retry-After', String(ex.extra.retryAfter));
  if (ex.extra.headers) for (const [k, v] of Object.entries(ex.extra.headers)) reply.header(k, v);
  // A key found gone after the limiter admitted it (its consumer deleted meanwhile) is answered like an
  // unknown key: a 401 describes no limits, as the document says.
  if (ex.status === 401) for (const h of RATE_LIMIT_HEADERS) reply.removeHeader(h);
  reply.status(ex.status).send(body);
}

/** Renders everything thrown from guards, pipes and handlers; Fastify's own errors use renderError directly. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    renderError(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>());
  }
}

/** What a log line may say about an error: never a failed query's parameters or other attached data. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; query?: unknown };
  return {
    type: e.name,
    message: e.message,
    code: typeof e.code === 'string' ? e.code : undefined,
    query: typeof e.query === 'string' ? e.query.slice(0, 500) : undefined,
    stack: e.stack,
  };
}
