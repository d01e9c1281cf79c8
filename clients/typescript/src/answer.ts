import type { components } from './schema';

/** The verdict of `POST /v1/keys/verify`. `kind` and `environment` are read when the server sends them. */
export type Verdict = components['schemas']['VerifyKeyResponseDto'] & { kind?: string | null; environment?: string | null };
export type ErrorCode = Exclude<Verdict['code'], 'VALID'>;

/** The project's error shape, as Tollgate answers it. */
export interface ErrorBody {
  error: string;
  message: string;
  statusCode: number;
  requestId: string;
  retryAfter?: number;
}

/** What to send a client: the status, the error body (refusals only) and the headers a direct call to Tollgate gets. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body?: ErrorBody;
}

export const ERROR_STATUS: Record<string, number> = {
  MISSING_API_KEY: 401,
  INVALID_API_KEY: 401,
  KEY_EXPIRED: 401,
  KEY_REVOKED: 401,
  CONSUMER_SUSPENDED: 403,
  IP_NOT_ALLOWED: 403,
  ORIGIN_NOT_ALLOWED: 403,
  INSUFFICIENT_PERMISSIONS: 403,
  CREDITS_EXHAUSTED: 402,
  SPEND_CAP_REACHED: 402,
  RATE_LIMIT_EXCEEDED: 429,
  QUOTA_EXCEEDED: 429,
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PERIOD_CLOSED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

export const ERROR_MESSAGES: Record<string, string> = {
  MISSING_API_KEY: 'No API key was sent: use the X-API-Key header or Authorization: Bearer',
  INVALID_API_KEY: 'The API key is not valid',
  KEY_EXPIRED: 'The API key has expired',
  KEY_REVOKED: 'The API key has been revoked',
  CONSUMER_SUSPENDED: 'The consumer of this API key is suspended',
  IP_NOT_ALLOWED: 'This API key may not be used from this IP address',
  ORIGIN_NOT_ALLOWED: 'This API key may not be used from this origin',
  INSUFFICIENT_PERMISSIONS: 'The API key lacks the permissions this request needs',
  CREDITS_EXHAUSTED: 'The credits of this API key are used up',
  SPEND_CAP_REACHED: 'The spend cap of this billing period is reached',
  RATE_LIMIT_EXCEEDED: 'Too many requests, please try again later',
  QUOTA_EXCEEDED: 'The quota of this billing period is used up',
  SERVICE_UNAVAILABLE: 'The service is temporarily unavailable, please retry',
  INTERNAL_ERROR: 'An internal error occurred',
};

/** The refusal of one error code, in the project's error shape. */
export function refusal(code: string, requestId: string, retryAfter?: number, headers: Record<string, string> = {}): Answer {
  const status = ERROR_STATUS[code] ?? 500;
  const body: ErrorBody = { error: code, message: ERROR_MESSAGES[code] ?? ERROR_MESSAGES.INTERNAL_ERROR, statusCode: status, requestId };
  if (retryAfter !== undefined) {
    body.retryAfter = retryAfter;
    headers = { ...headers, 'Retry-After': String(retryAfter) };
  }
  return { status, headers, body };
}

/** `windowSeconds` is read when the server sends it (older servers did not). */
type RateLimitState = Omit<Verdict['rateLimits'][number], 'windowSeconds'> & { windowSeconds?: number };

/** A structured-field string, as Tollgate writes limit names in RateLimit-Policy. */
function sfString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * `RateLimit-Policy`, `RateLimit` (draft-ietf-httpapi-ratelimit-headers-11) for every limit, and
 * `X-RateLimit-*` for the most restrictive one — when refused, the exhausted limit that frees up last;
 * otherwise the one with the fewest requests left — exactly as Tollgate sets them on its own routes.
 */
export function rateLimitHeaders(limits: readonly RateLimitState[], refused: boolean): Record<string, string> {
  if (limits.length === 0) return {};
  let pick = 0;
  for (let i = 1; i < limits.length; i++) if (moreRestrictive(limits[i], limits[pick], refused)) pick = i;
  const chosen = limits[pick];
  return {
    'RateLimit-Policy': limits.map((l) => `${sfString(l.name)};q=${l.limit}${l.windowSeconds !== undefined ? `;w=${l.windowSeconds}` : ''}`).join(', '),
    RateLimit: limits.map((l) => `${sfString(l.name)};r=${l.remaining};t=${l.reset}`).join(', '),
    'X-RateLimit-Limit': String(chosen.limit),
    'X-RateLimit-Remaining': String(chosen.remaining),
    'X-RateLimit-Reset': String(chosen.reset),
  };
}

function moreRestrictive(a: RateLimitState, b: RateLimitState, refused: boolean): boolean {
  // Refused: an exhausted limit is the one the client waits for; among them, the one that frees up last.
  const blockedA = refused && a.remaining === 0;
  const blockedB = refused && b.remaining === 0;
  if (blockedA !== blockedB) return blockedA;
  if (blockedA) return a.reset > b.reset;
  if (a.remaining !== b.remaining) return a.remaining < b.remaining;
  return a.reset > b.reset;
}

/** Seconds to wait after a refusal, as Tollgate's own `Retry-After`; undefined for codes that have none. */
export function retryAfterOf(verdict: Verdict, now = Date.now()): number | undefined {
  if (verdict.code === 'RATE_LIMIT_EXCEEDED') {
    const waits = verdict.rateLimits.filter((l) => l.remaining === 0).map((l) => l.reset);
    return Math.max(1, ...(waits.length > 0 ? waits : verdict.rateLimits.map((l) => l.reset)));
  }
  if (verdict.code === 'QUOTA_EXCEEDED' && verdict.quota) return Math.max(1, Math.ceil((Date.parse(verdict.quota.periodEnd) - now) / 1000));
  return undefined;
}

/** The answer a direct call to Tollgate would get for this verdict: 200 with rate-limit headers, or the refusal. */
export function answerOf(verdict: Verdict, requestId: string, now = Date.now()): Answer {
  const headers = rateLimitHeaders(verdict.rateLimits, verdict.code === 'RATE_LIMIT_EXCEEDED');
  if (verdict.valid && verdict.code === 'VALID') return { status: 200, headers };
  // An admin key is not valid for a consumer route, whatever its own state: a direct call gets 403.
  const code = verdict.code === 'VALID' ? 'INSUFFICIENT_PERMISSIONS' : verdict.code;
  return refusal(code, requestId, retryAfterOf(verdict, now), headers);
}
