import { ApiProperty } from '@nestjs/swagger';
import { PRICES_SCHEMA, PriceDto } from '../../plans/dto/price.dto';
import { QuotaRuleDto } from '../../plans/dto/quota-rule.dto';
import { InvoiceDto } from './invoice.dto';
import { ApiDateTime, ApiInt, nullableRef, OrNull } from '../../common/api-schema';

/** The plan as it was when the period opened. */
export class PlanSnapshotDto {
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "Pro" */
  name: string;
  /** @example "USD" */
  currency: string;
  /** @example 4900 */
  @ApiInt()
  baseFeeMinor: number;
  @ApiProperty({ type: 'array', items: PRICES_SCHEMA.items })
  prices: PriceDto[];
  quotas: QuotaRuleDto[];
}

export class BillingPeriodDto {
  /** @example "per_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** Inclusive, UTC. @example "2026-11-01T00:00:00.000Z" */
  @ApiDateTime()
  start: string;
  /** Exclusive, UTC. @example "2026-12-01T00:00:00.000Z" */
  @ApiDateTime()
  end: string;
  /** @example "open" */
  status: 'open' | 'closed';
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  planId: string | null;
  /** Null: the consumer had no plan when the period opened, and is billed nothing for it. */
  @ApiProperty({ type: undefined, oneOf: nullableRef(PlanSnapshotDto) })
  plan: OrNull<PlanSnapshotDto>;
  /** @example null */
  @ApiDateTime()
  closedAt: string | null;
  /** When the period was opened. @example "2026-11-01T00:00:05.000Z" */
  @ApiDateTime()
  createdAt: string;
  /** The invoice of a closed period, or the live estimate of an open one (`id` null, `status` open). */
  invoice: InvoiceDto;
}
