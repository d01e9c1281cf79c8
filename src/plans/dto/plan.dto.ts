import { RateLimitRuleDto } from '../../keys/dto/rate-limit-rule.dto';
import { ApiProperty } from '@nestjs/swagger';
import { PRICES_SCHEMA, PriceDto } from './price.dto';
import { QuotaRuleDto } from './quota-rule.dto';
import { ApiDateTime, ApiInt } from '../../common/api-schema';

/** A plan: currency, base fee, limits, quotas and prices. */
export class PlanDto {
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "Pro" */
  name: string;
  /** @example "USD" */
  currency: string;
  /** In minor units. @example 4900 */
  @ApiInt()
  baseFeeMinor: number;
  rateLimits: RateLimitRuleDto[];
  quotas: QuotaRuleDto[];
  /** One price per metric, discriminated by `model`. */
  @ApiProperty({ type: 'array', items: PRICES_SCHEMA.items })
  prices: PriceDto[];
  /** @example {} */
  metadata: Record<string, unknown>;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  updatedAt: string;
}
