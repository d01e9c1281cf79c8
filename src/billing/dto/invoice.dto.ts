import { ApiDateTime, ApiInt } from '../../common/api-schema';
/** One tier's share of a graduated or volume line. */
export class TierBreakdownDto {
  /** @example 5000 */
  @ApiInt()
  upTo: number | null;
  /** Billable units priced in this tier. @example 4000 */
  @ApiInt()
  units: number;
  /** @example "0.008" */
  unitPrice: string;
  /** @example "2.00" */
  flatFee?: string;
  /** Exact amount in major units, before the line is rounded. @example "34" */
  amount: string;
}

export class InvoiceLineDto {
  /** @example "usage" */
  type: 'base_fee' | 'usage';
  /** `base_fee` on the base fee line. @example "requests" */
  metric: string;
  /** Units billed for the period: its own usage plus `carriedIn`. @example 25000 */
  @ApiInt()
  quantity: number;
  /** Units free of charge. @example 10000 */
  @ApiInt()
  included: number;
  /** quantity − included. @example 15000 */
  @ApiInt()
  billable: number;
  /**
   * Decimal string in major units: the unit price (per_unit), the price of one package (package), the
   * price of the tier reached (volume), the base fee (base_fee); null for graduated (see `tiers`).
   * @example "0.0004"
   */
  unitPrice: string | null;
  /** graduated and volume lines: the tiers that received units. */
  tiers?: TierBreakdownDto[];
  /** The line rounded once, half-up, to the currency's minor unit. @example 600 */
  @ApiInt()
  amountMinor: number;
  /**
   * Usage lines: units metered in the previous period's range after it closed (late request counts),
   * included in `quantity`. @example 0
   */
  @ApiInt()
  carriedIn?: number;
}

/** An invoice; also the live estimate of an open period (`id` null, `status` open). */
export class InvoiceDto {
  /** Null for an estimate. @example "inv_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string | null;
  /** @example "per_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  periodId: string;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** The plan's currency; null when the period has no plan (nothing billed). @example "USD" */
  currency: string | null;
  /** @example "2026-11-01T00:00:00.000Z" */
  @ApiDateTime()
  periodStart: string;
  /** @example "2026-12-01T00:00:00.000Z" */
  @ApiDateTime()
  periodEnd: string;
  /** @example "closed" */
  status: 'open' | 'closed';
  lines: InvoiceLineDto[];
  /** Sum of the lines' amountMinor. @example 5500 */
  @ApiInt()
  totalMinor: number;
}
