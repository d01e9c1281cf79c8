import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthKey } from '../../auth/auth-key';
import { AppException } from '../../common/app.exception';
import { ErrorCode } from '../../common/error-code';
import { QuotaService } from './quota.service';

/** Every authenticated request counts 1 of the metric `requests`. */
export const REQUESTS_METRIC = 'requests';

/**
 * Fourth global guard: a request that passed the rate limits consumes one unit of the plan's `requests`
 * quota, if the plan has one. Keys without such a quota pass synchronously, without touching a counter.
 */
@Injectable()
export class QuotaGuard implements CanActivate {
  constructor(private readonly quotas: QuotaService) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const auth = context.getArgByIndex<FastifyRequest>(0).auth;
    // No auth means a @Public() route (ApiKeyGuard denies every other route without a key).
    if (auth === undefined || !this.quotas.hasQuota(auth.key, REQUESTS_METRIC)) return true;
    return this.consume(auth.key);
  }

  private async consume(key: AuthKey): Promise<boolean> {
    const decision = await this.quotas.consume(key, REQUESTS_METRIC, 1);
    if (decision.allowed) return true;
    const q = decision.quota!;
    throw new AppException(
      ErrorCode.QUOTA_EXCEEDED,
      `The quota of this billing period is used up (${q.limit} ${q.metric} until ${q.periodEnd})`,
      { retryAfter: decision.retryAfter },
    );
  }
}
