import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Admission, CONSUMER_KINDS } from '../admission/admission.service';
import { normalizeIp } from '../auth/ip-matcher';
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
          if (v.unauthenticated) return this.admission.refuseAuthentication(v.refusal.code, ip, v.refusal.message);
          throw v.refusal;
        }
        reply
          .header('x-tollgate-key-id', key!.id)
          .header('x-tollgate-consumer-id', key!.consumer?.id ?? '')
          .header('x-tollgate-environment', key!.environment)
          .header('x-tollgate-scopes', key!.scopes.join(','));
      });
  }
}
