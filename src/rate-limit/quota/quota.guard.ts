import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Admission } from '../../admission/admission.service';
import type { AuthKey } from '../../auth/auth-key';
import type { QuotaDecision } from './quota.service';

/** Every authenticated request counts 1 of the metric `requests`. */
export const REQUESTS_METRIC = 'requests';

/**
 * Fourth global guard: a request that passed the rate limits consumes one unit of the plan's `requests`
 * quota, if the plan has one. Keys without such a quota pass synchronously, without touching a counter.
 */
@Injectable()
export class QuotaGuard implements CanActivate {
  constructor(private readonly admission: Admission) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const auth = context.getArgByIndex<FastifyRequest>(0).auth;
    // No auth means a @Public() route (ApiKeyGuard denies every other route without a key).
    if (auth === undefined || !this.admission.hasQuota(auth.key, REQUESTS_METRIC)) return true;
    return this.consume(auth.key);
  }

  private async consume(key: AuthKey): Promise<boolean> {
    const decision: QuotaDecision = await this.admission.takeQuota(key, REQUESTS_METRIC, 1);
    if (decision.allowed) return true;
    throw this.admission.quotaRefusal(decision);
  }
}
