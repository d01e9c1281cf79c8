import { ApiDateTime, ApiInt } from '../../common/api-schema';
/** One exported row: a consumer × period × invoice line. CSV columns come in this order. */
export class ExportRowDto {
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** @example "acme-42" */
  externalId: string | null;
  /** @example "per_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  periodId: string;
  /** @example "2026-11-01T00:00:00.000Z" */
  @ApiDateTime()
  periodStart: string;
  /** @example "2026-12-01T00:00:00.000Z" */
  @ApiDateTime()
  periodEnd: string;
  /** The metric, or `base_fee` for the base fee row. @example "requests" */
  metric: string;
  /** @example 120000 */
  @ApiInt()
  quantity: number;
  /** @example 10000 */
  @ApiInt()
  included: number;
  /** @example 110000 */
  @ApiInt()
  billable: number;
  /** Decimal string in major units; null for graduated prices. @example "0.0004" */
  unitPrice: string | null;
  /** @example 4400 */
  @ApiInt()
  amountMinor: number;
  /** @example "USD" */
  currency: string | null;
  /** Null for an open period (a live estimate). @example "inv_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  invoiceId: string | null;
  /** @example "closed" */
  status: 'open' | 'closed';
}
