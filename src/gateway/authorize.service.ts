import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Admission, CONSUMER_KINDS } from '../admission/admission.service';
import { normalizeIp } from '../auth/ip-matcher';
import { AppException } from '../common/app.exception';
import { errorBody } from '../common/all-exceptions.filter';
import { MetricsService } from '../metrics/metrics.service';
import { AuthorizeQueryParser } from './authorize-query';

/**
 * Forward auth for gateways: the admission step for the client's key, with the needs the auth URL names,
 * answered as a direct call would be — 200 with the key's headers, or the direct call's refusal.
 */
@Injectable()
export class AuthorizeService {
  private readonly queries = new AuthorizeQueryParser();

  constructor(
    private readonly admission: Admission,
    private readonly metrics: MetricsService,
  ) {}

  /** Resolves (200, empty body) when allowed; throws the refusal otherwise. Synchronous on a cached key with the in-process limiter. */
  authorize(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const needs = this.queries.parse(request.url);
    // The client's address: X-Forwarded-For under TRUST_PROXY, the gateway being a trusted proxy.
    const ip = normalizeIp(request.ip);
    const origin = request.headers.origin;
    return this.admission
      .decide(this.admission.keyOf(request.headers), { ip, origin: typeof origin === 'string' ? origin : undefined }, {
        kinds: CONSUMER_KINDS,
        scopes: needs.scopes,
        metric: needs.metric,
        cost: needs.cost,
      })
      .then((v) => {
        this.metrics.countVerification(v.code, 'authorize');
        const key = v.key;
        if (key) {
          // For the request log line (the key id, never the key). Its outcome is already counted by the
          // admission step, so the refusal counter must not count it again.
          request.auth = { key, ip };
          request.admitted = true;
        }
        if (v.limits) this.admission.setLimitHeaders(reply, v.limits);
        if (v.refusal) {
          if (!v.unauthenticated) throw withBodyInHeader(v.refusal, request);
          return this.admission.refuseAuthentication(v.refusal.code, ip, v.refusal.message).catch((err: unknown) => {
            throw err instanceof AppException ? withBodyInHeader(err, request) : err;
          });
        }
        reply
          .header('x-tollgate-key-id', key!.id)
          .header('x-tollgate-consumer-id', key!.consumer?.id ?? '')
          .header('x-tollgate-environment', key!.environment)
          .header('x-tollgate-scopes', key!.scopes.join(','));
      });
  }
}

/** The header that carries a refusal's body, for gateways that drop the body of an auth answer (nginx). */
export const ERROR_HEADER = 'x-tollgate-error';

/**
 * The refusal with its body also in X-Tollgate-Error: nginx's auth_request keeps an auth answer's headers
 * but not its body, and its documented config answers the client with this header's JSON (docs/gateways.md).
 */
function withBodyInHeader(ex: AppException, request: FastifyRequest): AppException {
  return new AppException(ex.code, ex.message, {
    ...ex.extra,
    headers: { ...ex.extra.headers, [ERROR_HEADER]: asciiJson(errorBody(ex, request.id)) },
  });
}

/** JSON with every character outside printable ASCII escaped: a header value must be plain bytes. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
