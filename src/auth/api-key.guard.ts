import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { keysConfig } from '../config/settings';
import { AuthFailureLimiter } from './auth-failure.limiter';
import { normalizeIp } from './ip-matcher';
import { KeyVerifier, VerifyOutcome } from './key-verifier.service';
import { MetricsService } from '../metrics/metrics.service';
import { RouteAccessReader } from './route-access';

/** Reads the key from X-API-Key, Authorization: Bearer, or the header named by API_KEY_HEADER. Never the query string. */
export function extractKey(request: FastifyRequest, extraHeader?: string): string | undefined {
  const h = request.headers;
  const direct = h['x-api-key'];
  if (typeof direct === 'string' && direct) return direct.trim();
  if (extraHeader) {
    const custom = h[extraHeader];
    if (typeof custom === 'string' && custom) return custom.trim();
  }
  const auth = h.authorization;
  if (typeof auth === 'string' && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim();
  return undefined;
}

/** First global guard: who is calling. Deny by default; `@Public()` opts out. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly extraHeader?: string;
  /** Names the headers this server reads, including a configured API_KEY_HEADER. */
  private readonly missingKeyMessage: string;

  constructor(
    private readonly routes: RouteAccessReader,
    private readonly verifier: KeyVerifier,
    private readonly failures: AuthFailureLimiter,
    private readonly metrics: MetricsService,
    @Inject(keysConfig.KEY) keys: ConfigType<typeof keysConfig>,
  ) {
    const extra = keys.header;
    this.extraHeader = extra?.toLowerCase();
    this.missingKeyMessage = `No API key was sent: use the X-API-Key header${extra ? `, the ${extra} header` : ''} or Authorization: Bearer`;
  }

  /** Synchronous on a cache hit: the hot path awaits nothing. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.routes.of(context).isPublic) return true;
    // getArgByIndex, not switchToHttp(): the latter allocates an adapter object per call.
    const request = context.getArgByIndex<FastifyRequest>(0);
    // After TRUST_PROXY; `::ffff:a.b.c.d` counts as a.b.c.d for allowlists and the failure limit alike.
    const ip = normalizeIp(request.ip);
    const key = extractKey(request, this.extraHeader);
    if (!key) {
      this.observe(request, ErrorCode.MISSING_API_KEY, null);
      return this.fail(ErrorCode.MISSING_API_KEY, ip, this.missingKeyMessage);
    }
    const from = { ip, origin: typeof request.headers.origin === 'string' ? request.headers.origin : undefined };
    const outcome = this.verifier.verify(key, from);
    if (!(outcome instanceof Promise)) return this.finish(request, outcome, ip);
    return outcome.then(
      (resolved) => this.finish(request, resolved, ip),
      (err) => {
        this.observe(request, err instanceof AppException ? err.code : ErrorCode.INTERNAL_ERROR, null);
        throw err;
      },
    );
  }

  private finish(request: FastifyRequest, outcome: VerifyOutcome, ip: string): boolean | Promise<never> {
    this.observe(request, outcome.ok ? 'VALID' : outcome.code, outcome.key?.id ?? null);
    if (!outcome.ok) return this.fail(outcome.code, ip);
    request.auth = { key: outcome.key, ip };
    return true;
  }

  /** Counts the outcome and notes it for the request log line (the key id, never the key). */
  private observe(request: FastifyRequest, code: string, keyId: string | null): void {
    this.metrics.countVerification(code, 'guard');
    request.keyVerification = { code, keyId };
  }

  /** Failed attempts count against the client IP; past the limit the answer becomes 429 so guessing is slow. */
  private async fail(code: ErrorCode, ip: string, message?: string): Promise<never> {
    const retryAfter = await this.failures.record(ip);
    if (retryAfter !== null) {
      throw new AppException(ErrorCode.RATE_LIMIT_EXCEEDED, 'Too many failed authentication attempts from this address', {
        retryAfter,
      });
    }
    throw new AppException(code, message);
  }
}
