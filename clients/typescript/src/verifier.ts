import { randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { type Answer, answerOf, refusal, type Verdict } from './answer';

export interface VerifierOptions {
  /** Where Tollgate runs, e.g. `http://tollgate:3000`. */
  baseUrl: string;
  /** An admin key with `keys:verify`: this service's own key, never a client's. */
  gatewayKey: string;
  /** Connect and answer within this long, or Tollgate counts as unreachable. Default 2000 ms. */
  timeoutMs?: number;
  /**
   * When Tollgate cannot be reached (network error, timeout, 5xx): false (default) refuses the request with
   * 503 SERVICE_UNAVAILABLE; true lets it through unverified (no key on the request) — an availability
   * choice, to be made knowingly, and counted by `onUnreachable`.
   */
  failOpen?: boolean;
  /** Called on every verification Tollgate could not answer, with the running count. */
  onUnreachable?: (event: UnreachableEvent) => void;
  /** Keep-alive connections to Tollgate. Default 16. */
  connections?: number;
  /** A header the key may come in besides `X-API-Key` and `Authorization: Bearer` (Tollgate's API_KEY_HEADER). */
  header?: string;
}

export interface UnreachableEvent {
  error: Error;
  /** The request went through unverified (failOpen), or was refused with 503. */
  failedOpen: boolean;
  /** How many verifications could not be answered since the verifier was created. */
  count: number;
}

/** What a route needs of the key; `metric`/`cost` are what this call meters (default 1 `requests`). */
export interface Requirement {
  scopes?: string[];
  metric?: string;
  cost?: number;
}

export interface VerifyInput extends Requirement {
  /** The key the client presented; undefined or empty when it sent none. */
  key: string | undefined;
  /** The client's address, for the key's IP allowlist. */
  ip?: string;
  /** The client's Origin header, for a publishable key's allowed origins. */
  origin?: string;
  /** The request id to put in a refusal made here (no key, Tollgate unreachable). */
  requestId?: string;
}

/** The verified key as the handler sees it. */
export interface VerifiedKey {
  id: string;
  scopes: string[];
  expiresAt: string | null;
  kind?: string | null;
  environment?: string | null;
}

export interface Verification {
  /** The request may go on to its handler. */
  allowed: boolean;
  /** Status, headers (rate limits, Retry-After) and error body to send, as a direct call to Tollgate gets them. */
  answer: Answer;
  /** Tollgate's verdict; null when no key was sent or Tollgate was not reached. */
  verdict: Verdict | null;
  /** The key and consumer, for an allowed verified request; null when it went through unverified (failOpen). */
  key: VerifiedKey | null;
  consumer: { id: string } | null;
  /** The key as presented, to report usage with (it belongs to the consumer). */
  presentedKey: string | null;
  unreachable: boolean;
}

export interface Verifier {
  /** Verifies one key for one call; never throws. */
  verify(input: VerifyInput): Promise<Verification>;
  /** The key in request headers, read as Tollgate reads it: `X-API-Key`, `Authorization: Bearer`, or the configured header. */
  keyFrom(headers: Record<string, string | string[] | undefined>): string | undefined;
  /** Verifications Tollgate could not answer so far. */
  readonly unreachableCount: number;
  /** Closes the pooled connections. */
  close(): Promise<void>;
}

/** Tollgate refuses keys longer than this before looking them up. */
const MAX_KEY_LENGTH = 256;
/** What Tollgate itself answers with the database down. */
const UNAVAILABLE_RETRY_AFTER = 5;

class VerifyFailed extends Error {
  constructor(
    message: string,
    /** 4xx from verify: this service's configuration is wrong (gateway key, request), not Tollgate's availability. */
    readonly misconfigured: boolean,
  ) {
    super(message);
  }
}

export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : `req_${randomBytes(8).toString('hex')}`;
}

/**
 * A verifier of presented keys over `POST /v1/keys/verify`: one pool of keep-alive connections to Tollgate,
 * a timeout per call, and a documented answer when Tollgate cannot be reached (fail closed by default).
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const base = new URL(options.baseUrl);
  const path = `${base.pathname.replace(/\/+$/, '')}/v1/keys/verify`;
  const timeoutMs = options.timeoutMs ?? 2000;
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    keepAliveTimeout: 30_000,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const extraHeader = options.header?.toLowerCase();
  let unreachable = 0;
  let closing: Promise<void> | undefined;

  async function call(body: Record<string, unknown>): Promise<{ verdict: Verdict; requestId: string }> {
    let res;
    try {
      res = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': options.gatewayKey },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new VerifyFailed(`Tollgate could not be reached: ${(err as Error).message}`, false);
    }
    const text = await res.body.text().catch((err: Error) => {
      throw new VerifyFailed(`Tollgate's answer was cut off: ${err.message}`, false);
    });
    const requestId = String(res.headers['x-request-id'] ?? '');
    if (res.statusCode !== 200) {
      throw new VerifyFailed(`Tollgate answered the verification ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode < 500 && res.statusCode !== 429);
    }
    return { verdict: JSON.parse(text) as Verdict, requestId };
  }

  return {
    get unreachableCount() {
      return unreachable;
    },

    keyFrom(headers) {
      const pick = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
      const direct = pick(headers['x-api-key']) ?? (extraHeader ? pick(headers[extraHeader]) : undefined);
      if (direct) return direct;
      const auth = pick(headers.authorization);
      const bearer = auth && /^Bearer\s+(\S+)$/i.exec(auth);
      return bearer ? bearer[1] : undefined;
    },

    async verify(input) {
      const unverified = { verdict: null, key: null, consumer: null, presentedKey: input.key || null };
      const localId = () => requestIdFor(input.requestId);
      if (!input.key) return { ...unverified, allowed: false, answer: refusal('MISSING_API_KEY', localId()), unreachable: false };
      if (input.key.length > MAX_KEY_LENGTH) return { ...unverified, allowed: false, answer: refusal('INVALID_API_KEY', localId()), unreachable: false };
      const body: Record<string, unknown> = { key: input.key };
      if (input.scopes && input.scopes.length > 0) body.scopes = input.scopes;
      if (input.metric !== undefined) body.metric = input.metric;
      if (input.cost !== undefined) body.cost = input.cost;
      if (input.ip !== undefined) body.ip = input.ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
      if (input.origin !== undefined) body.origin = input.origin;
      try {
        const { verdict, requestId } = await call(body);
        const answer = answerOf(verdict, requestId || localId());
        const allowed = answer.status === 200;
        return {
          allowed,
          answer,
          verdict,
          key: allowed && verdict.keyId ? { id: verdict.keyId, scopes: verdict.scopes, expiresAt: verdict.expiresAt, kind: verdict.kind, environment: verdict.environment } : null,
          consumer: allowed && verdict.consumerId ? { id: verdict.consumerId } : null,
          presentedKey: input.key,
          unreachable: false,
        };
      } catch (err) {
        const failure = err instanceof VerifyFailed ? err : new VerifyFailed((err as Error).message, false);
        if (failure.misconfigured) {
          // Never fail open on a wrong gateway key: it would let every request through unnoticed.
          const answer = refusal('INTERNAL_ERROR', localId());
          answer.body!.message = 'Key verification is misconfigured on this service';
          return { ...unverified, allowed: false, answer, unreachable: false };
        }
        unreachable++;
        const failedOpen = options.failOpen === true;
        try {
          options.onUnreachable?.({ error: failure, failedOpen, count: unreachable });
        } catch {
          // The callback's failure must not change the answer.
        }
        if (failedOpen) return { ...unverified, allowed: true, answer: { status: 200, headers: {} }, unreachable: true };
        return { ...unverified, allowed: false, answer: refusal('SERVICE_UNAVAILABLE', localId(), UNAVAILABLE_RETRY_AFTER), unreachable: true };
      }
    },

    close() {
      // Idempotent: frameworks' shutdown hooks may close it more than once.
      return (closing ??= pool.close());
    },
  };
}
