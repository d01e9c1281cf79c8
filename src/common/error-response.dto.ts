import { ErrorCode } from './error-code';

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
  statusCode: number;
  /** The request id, also in the X-Request-Id header. @example "req_8f3c0d2b9a1e4c7f" */
  requestId: string;
  /** Seconds to wait before retrying (429 and 503 only). @example 60 */
  retryAfter?: number;
  /** Per-field problems (VALIDATION_FAILED only). */
  details?: FieldErrorDto[];
}
