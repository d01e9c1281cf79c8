import { RateLimitRuleDto } from '../../keys/dto/rate-limit-rule.dto';
import { PriceDto } from './price.dto';
import { QuotaRuleDto } from './quota-rule.dto';

/** A plan: currency, base fee, limits, quotas and prices. */
export class PlanDto {
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "Pro" */
  name: string;
  /** @example "USD" */
  currency: string;
  /** In minor units. @example 4900 */
  baseFeeMinor: number;
  rateLimits: RateLimitRuleDto[];
  quotas: QuotaRuleDto[];
  prices: PriceDto[];
  /** @example {} */
  metadata: Record<string, unknown>;
  /** @example "2026-11-22T10:00:00.000Z" */
  createdAt: string;
  /** @example "2026-11-22T10:00:00.000Z" */
  updatedAt: string;
}
