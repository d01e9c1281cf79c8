import type { InvoiceLine } from './pricing';

/**
 * An invoice line as stored and answered: the pricing engine's line, and on usage lines `carriedIn`, the
 * part of `quantity` that was metered in the previous period's range after that period closed.
 */
export type BilledLine = InvoiceLine & { carriedIn?: number };

/** The Invoice of DESIGN.md; also the shape of an open period's live estimate (`id` null, status `open`). */
export interface BilledInvoice {
  id: string | null;
  periodId: string;
  consumerId: string;
  currency: string | null;
  periodStart: string;
  periodEnd: string;
  status: 'open' | 'closed';
  lines: BilledLine[];
  totalMinor: number;
}

/** Usage of one period per metric: measured inside its own range, and carried in from the previous one. */
export interface PeriodUsage {
  ownRange: Record<string, number>;
  carriedIn: Record<string, number>;
  /** Measured at close: what the next period compares against to find what arrived late (see period-usage.ts). */
  closing?: ClosingUsage;
}

/** Usage of a closed period's last days, as it stood at close (`invoices.range_usage`). */
export interface ClosingUsage {
  /** First day (since the epoch) of the window; the window ends with the period. */
  fromDay: number;
  usage: Record<string, number>;
}
