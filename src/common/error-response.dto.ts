import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ApiInt } from './api-schema';
import { DEFAULT_MESSAGES, ERROR_STATUS, ErrorCode } from './error-code';

export class FieldErrorDto {
  /** @example "scopes[0]" */
  field: string;
  /** @example "must match resource:action" */
  message: string;
}

/** The one shape of every error answered by the API. */
export class ErrorResponseDto {
  /** Stable error code. @example "RATE_LIMIT_EXCEEDED" */
  error: ErrorCode;
  /** Human-readable explanation. @example "Too many requests, please try again later" */
  message: string;
  /** HTTP status, repeated. @example 429 */
  @ApiInt()
  statusCode: number;
  /** The request id, also in the X-Request-Id header. @example "req_8f3c0d2b9a1e4c7f" */
  requestId: string;
  /** Seconds to wait before retrying (429 and 503 only). @example 60 */
  @ApiInt()
  retryAfter?: number;
  /** Per-field problems (VALIDATION_FAILED only). */
  details?: FieldErrorDto[];
}

const CODES = new Set<string>(Object.values(ErrorCode));

/** What a client receives with `code`: the example shown for it in the API reference. */
export function errorExample(code: ErrorCode, message = DEFAULT_MESSAGES[code]): ErrorResponseDto {
  const body: ErrorResponseDto = { error: code, message, statusCode: ERROR_STATUS[code], requestId: 'req_8f3c0d2b9a1e4c7f' };
  if (code === ErrorCode.RATE_LIMIT_EXCEEDED || code === ErrorCode.QUOTA_EXCEEDED) body.retryAfter = 42;
  if (code === ErrorCode.SERVICE_UNAVAILABLE) body.retryAfter = 5;
  if (code === ErrorCode.VALIDATION_FAILED) body.details = [{ field: 'name', message: 'name must be longer than or equal to 1 characters' }];
  return body;
}

/**
 * An error response of `status`, documented with one example per error code named in `description`
 * (e.g. `'NOT_FOUND'`, `'CONFLICT: externalId already used'`, `'MISSING_API_KEY, INVALID_API_KEY or KEY_EXPIRED'`).
 * When one code is named, the text after the colon is its example's message.
 */
export function ApiErrorResponse(status: number, description: string) {
  const codes = (description.match(/\b[A-Z][A-Z_]+\b/g) ?? []).filter((w) => CODES.has(w) && ERROR_STATUS[w as ErrorCode] === status) as ErrorCode[];
  if (codes.length === 0) throw new Error(`ApiErrorResponse(${status}, "${description}") names no error code of that status`);
  const tail = description.match(/^[A-Z_]+: (.+)$/)?.[1];
  const examples = Object.fromEntries(
    codes.map((code: ErrorCode) => {
      const message = codes.length === 1 && tail ? tail.charAt(0).toUpperCase() + tail.slice(1) : DEFAULT_MESSAGES[code];
      return [code, { summary: code, value: errorExample(code, message) }];
    }),
  );
  return ApiResponse({
    status,
    description,
    content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorResponseDto) }, examples } },
  });
}
