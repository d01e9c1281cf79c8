import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import type { AuthKey } from '../auth/auth-key';
import { AuthFailureLimiter } from '../auth/auth-failure.limiter';
import { normalizeIp } from '../auth/ip-matcher';
import { KeyVerifier, type RequestOrigin, type VerifyOutcome } from '../auth/key-verifier.service';
import { grants, type KeyKind } from '../auth/scopes';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { keysConfig } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';
import type { RouteLimits } from '../rate-limit/limit-policy';
import { type QuotaDecision, QuotaService, UNLIMITED } from '../rate-limit/quota/quota.service';
import { type RateLimitDecision, RateLimitService, type RateLimitState } from '../rate-limit/rate-limit.service';
import { isRefusal } from '../usage/outcomes/key-outcome';
import { KeyOutcomeRecorder } from '../usage/outcomes/key-outcome-recorder.service';
import { REQUESTS_METRIC, UsageRecorder } from '../usage/usage-recorder.service';

/** Where a gateway sends its own key to /v1/keys/authorize. */
export const GATEWAY_KEY_HEADER = 'x-tollgate-gateway-key';

/** The kinds of key a consumer route accepts: what verify and forward auth judge a key against. */
export const CONSUMER_KINDS: readonly KeyKind[] = ['secret', 'publishable'];

/** What a call needs of a key: the kinds and scopes of its route, and what it meters. */
export interface AdmissionNeeds {
  kinds: readonly KeyKind[];
  scopes: readonly string[];
  /** Metered for an admitted call; its quota, if the plan has one, takes `cost`. */
  metric: string;
  /** 0 checks without counting a limit, consuming quota or metering. */
  cost: number;
}

/** The decision on one call: `VALID`, or the refusal a direct call would get, with what was counted. */
export interface AdmissionVerdict {
  code: 'VALID' | ErrorCode;
  /** The key presented, when it is known (also when refused). */
  key: AuthKey | undefined;
  /** The rate limits as counted (or read, for cost 0); null when the call stopped before them. */
  limits: RateLimitDecision | null;
  /** The quota of `metric`; null when the call stopped before it. */
  quota: QuotaDecision | null;
  /** The exception a direct call would be answered with; null when admitted. */
  refusal: AppException | null;
  /** Refused while authenticating the key (what a direct call counts against the client's address). */
  unauthenticated: boolean;
}

/** Reads the key from X-API-Key, the header named by API_KEY_HEADER, or Authorization: Bearer. Never the query string. */
export function extractKey(headers: FastifyRequest['headers'], extraHeader?: string): string | undefined {
  const direct = headers['x-api-key'];
  if (typeof direct === 'string' && direct) return direct.trim();
  if (extraHeader) {
    const custom = headers[extraHeader];
    if (typeof custom === 'string' && custom) return custom.trim();
  }
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim();
  return undefined;
}

/**
 * The one decision that admits a call: the key and its state, IP and origin, kind and scopes, rate
 * limits, quota and metering. Tollgate's own routes take it step by step (authentication in an onRequest
 * hook, then the global guards, each step here); `POST /v1/keys/verify` and `/v1/keys/authorize` take it
 * whole with `decide()`. Every step answers without a promise when it needs no I/O.
 */
@Injectable()
export class Admission {
  private readonly extraHeader?: string;
  /** Names the headers this server reads, including a configured API_KEY_HEADER. */
  readonly missingKeyMessage: string;

  constructor(
    private readonly verifier: KeyVerifier,
    private readonly failures: AuthFailureLimiter,
    private readonly metrics: MetricsService,
    private readonly rateLimits: RateLimitService,
    private readonly quotas: QuotaService,
    private readonly usage: UsageRecorder,
    private readonly outcomes: KeyOutcomeRecorder,
    @Inject(keysConfig.KEY) keys: ConfigType<typeof keysConfig>,
  ) {
    const extra = keys.header;
    this.extraHeader = extra?.toLowerCase();
    this.missingKeyMessage = `No API key was sent: use the X-API-Key header${extra ? `, the ${extra} header` : ''} or Authorization: Bearer`;
  }

  /** The key a client sent, from the headers a direct call reads. */
  keyOf(headers: FastifyRequest['headers']): string | undefined {
    return extractKey(headers, this.extraHeader);
  }

  // ---- Step by step, for Tollgate's own routes -------------------------------------------------

  /**
   * Authenticates a request to one of Tollgate's routes from its headers and sets `request.auth`. True
   * on a cache hit; a promise when the database is asked; a rejected promise (the 401/403, or 429 past
   * the failed-authentication limit) when refused.
   */
  authenticateRequest(request: FastifyRequest): true | Promise<true> {
    // After TRUST_PROXY; `::ffff:a.b.c.d` counts as a.b.c.d for allowlists and the failure limit alike.
    const ip = normalizeIp(request.ip);
    const key = this.keyOf(request.headers);
    if (!key) {
      this.observe(request, ErrorCode.MISSING_API_KEY, null);
      return this.refuseAuthentication(ErrorCode.MISSING_API_KEY, ip, this.missingKeyMessage);
    }
    const origin = request.headers.origin;
    const outcome = this.verifier.verify(key, { ip, origin: typeof origin === 'string' ? origin : undefined });
    if (!(outcome instanceof Promise)) return this.authenticated(request, outcome, ip);
    return outcome.then(
      (resolved) => this.authenticated(request, resolved, ip),
      (err) => {
        this.observe(request, err instanceof AppException ? err.code : ErrorCode.INTERNAL_ERROR, null);
        throw err;
      },
    );
  }

  private authenticated(request: FastifyRequest, outcome: VerifyOutcome, ip: string): true | Promise<never> {
    this.observe(request, outcome.ok ? 'VALID' : outcome.code, outcome.key?.id ?? null);
    if (!outcome.ok) return this.refuseAuthentication(outcome.code, ip);
    request.auth = { key: outcome.key, ip };
    return true;
  }

  /** Counts the outcome and notes it for the request log line (the key id, never the key). */
  private observe(request: FastifyRequest, code: string, keyId: string | null): void {
    this.metrics.countVerification(code, 'guard');
    request.keyVerification = { code, keyId };
  }

  /** Failed attempts count against the client IP; past the limit the answer becomes 429 so guessing is slow. */
  async refuseAuthentication(code: ErrorCode, ip: string, message?: string): Promise<never> {
    const retryAfter = await this.failures.record(ip);
    if (retryAfter !== null) {
      throw new AppException(ErrorCode.RATE_LIMIT_EXCEEDED, 'Too many failed authentication attempts from this address', {
        retryAfter,
      });
    }
    throw new AppException(code, message);
  }

  /** May a key of this kind and scopes make the call? Null when it may; the 403 otherwise. */
  permission(key: AuthKey | undefined, kinds: readonly KeyKind[] | undefined, scopes: readonly string[] | undefined): AppException | null {
    if (!key || !scopes || !kinds) return new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'This route is not available to API keys');
    if (!kinds.includes(key.kind)) return new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `This route does not accept ${key.kind} keys`);
    for (let i = 0; i < scopes.length; i++) {
      if (!grants(key.scopes, scopes[i])) {
        const missing = scopes.filter((s) => !grants(key.scopes, s));
        return new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `Missing scope: ${missing.join(', ')}`);
      }
    }
    return null;
  }

  /** One hit on every rate limit of the key (cost > 0), or a read of them (cost 0). */
  countLimits(key: AuthKey, cost: number, route?: RouteLimits | null): RateLimitDecision | Promise<RateLimitDecision> {
    return cost > 0 ? this.rateLimits.consume(key, route) : this.rateLimits.peek(key, route);
  }

  /** The 429 of a refused rate-limit decision. */
  limitRefusal(decision: RateLimitDecision): AppException {
    return this.rateLimits.exception(this.rateLimits.detail(decision));
  }

  /** Does the key's plan set a quota on `metric`? Keys without one skip the quota step entirely. */
  hasQuota(key: AuthKey, metric: string): boolean {
    return this.quotas.hasQuota(key, metric);
  }

  /** Takes `cost` of the plan's quota on `metric` (cost 0 reads it). */
  takeQuota(key: AuthKey, metric: string, cost: number): QuotaDecision | Promise<QuotaDecision> {
    if (!this.quotas.hasQuota(key, metric)) return UNLIMITED;
    return cost > 0 ? this.quotas.consume(key, metric, cost) : this.quotas.peek(key, metric);
  }

  /** The 429 of a refused quota decision. */
  quotaRefusal(decision: QuotaDecision): AppException {
    const q = decision.quota!;
    return new AppException(
      ErrorCode.QUOTA_EXCEEDED,
      `The quota of this billing period is used up (${q.limit} ${q.metric} until ${q.periodEnd})`,
      { retryAfter: decision.retryAfter },
    );
  }

  /** Counts an admitted call as usage (in memory; flushed in batches). */
  meter(key: AuthKey, metric: string, cost: number): void {
    this.usage.record(key, metric, cost);
  }

  /** Every limit of a decision as an answer shows it. */
  limitStates(decision: RateLimitDecision): RateLimitState[] {
    return this.rateLimits.states(decision);
  }

  /** Sets the rate-limit headers of a decision on a reply (or anything with header()). */
  setLimitHeaders(reply: { header(name: string, value: string | number): unknown }, decision: RateLimitDecision): void {
    this.rateLimits.setHeaders(reply, decision);
  }

  /**
   * Forward auth: the gateway's own key, in X-Tollgate-Gateway-Key, must be a working admin key with
   * keys:verify, judged from the address of the gateway itself (the socket, not X-Forwarded-For). Anything
   * else is the operator's misconfiguration, not a verdict on the client's key: 500 GATEWAY_KEY_INVALID,
   * logged at error (and, like any failed authentication, counted against the address so guessing is slow).
   */
  authenticateGateway(request: FastifyRequest): true | Promise<true> {
    const presented = request.headers[GATEWAY_KEY_HEADER];
    const ip = normalizeIp(request.socket.remoteAddress ?? '');
    if (typeof presented !== 'string' || !presented) return this.refuseGateway(request, ip, `no ${GATEWAY_KEY_HEADER} header`);
    const outcome = this.verifier.verify(presented.trim(), { ip });
    if (outcome instanceof Promise) return outcome.then((resolved) => this.gatewayChecked(request, resolved, ip));
    return this.gatewayChecked(request, outcome, ip);
  }

  private gatewayChecked(request: FastifyRequest, outcome: VerifyOutcome, ip: string): true | Promise<never> {
    if (!outcome.ok) return this.refuseGateway(request, ip, `the key in ${GATEWAY_KEY_HEADER} is refused: ${outcome.code}`);
    const key = outcome.key;
    if (key.kind !== 'admin' || !grants(key.scopes, 'keys:verify')) {
      return this.refuseGateway(request, ip, `the key in ${GATEWAY_KEY_HEADER} is not an admin key with keys:verify`);
    }
    // Its lastUsedAt, as for any admin key's call; admin keys are not metered.
    this.usage.record(key, REQUESTS_METRIC, 1);
    return true;
  }

  private async refuseGateway(request: FastifyRequest, ip: string, reason: string): Promise<never> {
    this.metrics.countVerification(ErrorCode.GATEWAY_KEY_INVALID, 'authorize');
    request.log.error({ reason }, 'forward auth is misconfigured: every request through this gateway fails until its gateway key is fixed');
    const retryAfter = await this.failures.record(ip);
    if (retryAfter !== null) {
      throw new AppException(ErrorCode.RATE_LIMIT_EXCEEDED, 'Too many failed authentication attempts from this address', { retryAfter });
    }
    throw new AppException(ErrorCode.GATEWAY_KEY_INVALID);
  }

  // ---- Whole, for verify and forward auth ------------------------------------------------------

  /**
   * The decision a direct call with `plaintext` would get, in the order the guards take it: the key and
   * where it comes from, kind and scopes, rate limits, quota, then metering. A refusal of a known key is
   * counted among its outcomes, as a refused direct call is (cost 0 only checks, and counts nothing).
   */
  async decide(plaintext: string | undefined, from: RequestOrigin, needs: AdmissionNeeds): Promise<AdmissionVerdict> {
    const verdict = await this.judge(plaintext, from, needs);
    if (verdict.key && needs.cost !== 0 && isRefusal(verdict.code)) this.outcomes.record(verdict.key.id, verdict.code);
    return verdict;
  }

  private async judge(plaintext: string | undefined, from: RequestOrigin, needs: AdmissionNeeds): Promise<AdmissionVerdict> {
    if (!plaintext) return refused(ErrorCode.MISSING_API_KEY, undefined, new AppException(ErrorCode.MISSING_API_KEY, this.missingKeyMessage), true);
    const verified = this.verifier.verify(plaintext, from);
    const outcome = verified instanceof Promise ? await verified : verified;
    const key = outcome.key;
    if (!outcome.ok) return refused(outcome.code, key, new AppException(outcome.code), true);
    const denied = this.permission(outcome.key, needs.kinds, needs.scopes);
    if (denied) return refused(denied.code, key, denied, false);

    // As for a direct call: the key's rate limits count one call (whatever the cost, which is in units of
    // `metric`), then the plan's quota on `metric` takes `cost`.
    const counted = this.countLimits(outcome.key, needs.cost);
    const limits = counted instanceof Promise ? await counted : counted;
    if (!limits.allowed) {
      const quota = await this.quotas.peek(outcome.key, needs.metric);
      return { code: ErrorCode.RATE_LIMIT_EXCEEDED, key, limits, quota, refusal: this.limitRefusal(limits), unauthenticated: false };
    }
    const taken = this.takeQuota(outcome.key, needs.metric, needs.cost);
    const quota = taken instanceof Promise ? await taken : taken;
    if (!quota.allowed) return { code: ErrorCode.QUOTA_EXCEEDED, key, limits, quota, refusal: this.quotaRefusal(quota), unauthenticated: false };
    this.meter(outcome.key, needs.metric, needs.cost);
    return { code: 'VALID', key, limits, quota, refusal: null, unauthenticated: false };
  }
}

function refused(code: ErrorCode, key: AuthKey | undefined, refusal: AppException, unauthenticated: boolean): AdmissionVerdict {
  return { code, key, limits: null, quota: null, refusal, unauthenticated };
}
