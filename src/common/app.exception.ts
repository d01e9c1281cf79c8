import { DEFAULT_MESSAGES, ERROR_STATUS, ErrorCode } from './error-code';

export interface FieldError {
  field: string;
  message: string;
}

/** A domain error with a stable code; the global filter renders it in the error shape. */
export class AppException extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly extra: { details?: FieldError[]; retryAfter?: number; headers?: Record<string, string> } = {},
  ) {
    super(message ?? DEFAULT_MESSAGES[code]);
    this.status = ERROR_STATUS[code];
  }

  static notFound(what = 'Resource'): AppException {
    return new AppException(ErrorCode.NOT_FOUND, `${what} not found`);
  }

  static validation(details: FieldError[], message?: string): AppException {
    return new AppException(ErrorCode.VALIDATION_FAILED, message ?? DEFAULT_MESSAGES.VALIDATION_FAILED, { details });
  }

  static conflict(message: string): AppException {
    return new AppException(ErrorCode.CONFLICT, message);
  }

  static unavailable(retryAfter = 5): AppException {
    return new AppException(ErrorCode.SERVICE_UNAVAILABLE, undefined, { retryAfter });
  }
}
