import { PriceDto } from '../../plans/dto/price.dto';
import { QuotaRuleDto } from '../../plans/dto/quota-rule.dto';
import { InvoiceDto } from './invoice.dto';

/** The plan as it was when the period opened. */
export class PlanSnapshotDto {
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "Pro" */
  name: string;
  /** @example "USD" */
  currency: string;
  /** @example 4900 */
  baseFeeMinor: number;
  prices: PriceDto[];
  quotas: QuotaRuleDto[];
}

export class BillingPeriodDto {
  /** @example "per_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** Inclusive, UTC. @example "2026-11-01T00:00:00.000Z" */
  start: string;
  /** Exclusive, UTC. @example "2026-12-01T00:00:00.000Z" */
  end: string;
  /** @example "open" */
  status: 'open' | 'closed';
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  planId: string | null;
  /** Null: the consumer had no plan when the period opened, and is billed nothing for it. */
  plan: PlanSnapshotDto | null;
  /** @example null */
  closedAt: string | null;
  /** When the period was opened. @example "2026-11-01T00:00:05.000Z" */
  createdAt: string;
  /** The invoice of a closed period, or the live estimate of an open one (`id` null, `status` open). */
  invoice: InvoiceDto;
}
