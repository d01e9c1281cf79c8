import type { AuthKey, QuotaRule } from '../auth/auth-key';
import type { LimitPolicy } from '../rate-limit/limit-policy';
import type { QuotaState } from '../rate-limit/quota/quota.service';
import type { LimitResult } from '../rate-limit/storage';

/** What the rate limiter tells about a refused request (set on RateLimitService by the webhooks module). */
export interface RateLimitAlertSink {
  rateLimited(key: AuthKey, policy: LimitPolicy, results: readonly LimitResult[]): void;
}

/** What the quota counter tells after an admitted consumption (set on QuotaService by the webhooks module). */
export interface QuotaAlertSink {
  quotaUsed(key: AuthKey, rule: QuotaRule, quota: QuotaState): void;
}

/** Default thresholds of a plan quota, in percent of its limit. */
export const DEFAULT_QUOTA_THRESHOLDS = [80, 100];
