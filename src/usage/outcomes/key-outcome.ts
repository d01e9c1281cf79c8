import type { FastifyRequest } from 'fastify';
import { ErrorCode } from '../../common/error-code';

/** Outcomes of a request made with a known key: admitted, or the code it was refused with. */
export const KEY_OUTCOMES = [
  'VALID',
  ErrorCode.KEY_REVOKED,
  ErrorCode.KEY_EXPIRED,
  ErrorCode.CONSUMER_SUSPENDED,
  ErrorCode.IP_NOT_ALLOWED,
  ErrorCode.ORIGIN_NOT_ALLOWED,
  ErrorCode.INSUFFICIENT_PERMISSIONS,
  ErrorCode.RATE_LIMIT_EXCEEDED,
  ErrorCode.QUOTA_EXCEEDED,
] as const;
export type KeyOutcome = (typeof KEY_OUTCOMES)[number];
export type RefusalOutcome = Exclude<KeyOutcome, 'VALID'>;

const REFUSALS: ReadonlySet<string> = new Set(KEY_OUTCOMES.filter((o) => o !== 'VALID'));

declare module 'fastify' {
  interface FastifyRequest {
    /** The error code the response was rendered with (set by the exception filter). */
    errorCode?: string;
    /** Set by the last global guard: every guard admitted the request and it was metered as usage. */
    admitted?: boolean;
  }
}

/**
 * Which key a refused request is counted against, and why; null when it is not a refusal of a known
 * key. A request every guard admitted is already counted as usage (whatever its handler answered),
 * so it is never counted here as well.
 */
export function refusalOf(request: FastifyRequest, statusCode: number): { keyId: string; outcome: RefusalOutcome } | null {
  if (statusCode !== 401 && statusCode !== 403 && statusCode !== 429) return null;
  // Refused by ApiKeyGuard: its note names the key even when it turned the key away.
  const note = request.keyVerification;
  if (note && note.code !== 'VALID') {
    return note.keyId && isRefusal(note.code) ? { keyId: note.keyId, outcome: note.code } : null;
  }
  // Refused by a later guard (scopes, rate limit, quota).
  const auth = request.auth;
  const code = request.errorCode;
  if (!auth || request.admitted || code === undefined || !isRefusal(code)) return null;
  return { keyId: auth.key.id, outcome: code };
}

export function isRefusal(code: string): code is RefusalOutcome {
  return REFUSALS.has(code);
}
