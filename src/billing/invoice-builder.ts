import type { PlanSnapshot } from '../plans/plan-snapshot';
import type { BilledInvoice, BilledLine, PeriodUsage } from './billing.types';
import { priceInvoice } from './pricing';

export interface InvoiceSubject {
  id: string;
  consumerId: string;
  start: Date;
  end: Date;
  planSnapshot: PlanSnapshot | null;
}

/** Usage to bill per metric: what the period measured in its own range plus what was carried in. */
export function billedQuantities(usage: PeriodUsage): Record<string, number> {
  const total: Record<string, number> = { ...usage.ownRange };
  for (const [metric, carried] of Object.entries(usage.carriedIn)) total[metric] = (total[metric] ?? 0) + carried;
  return total;
}

/**
 * Prices a period with the plan it opened with. A period without a plan is metered but billed nothing:
 * no lines, total 0, and no currency (there is no plan to take one from).
 */
export function buildInvoice(
  period: InvoiceSubject,
  usage: PeriodUsage,
  status: 'open' | 'closed',
  invoiceId: string | null,
): BilledInvoice {
  const plan = period.planSnapshot;
  const priced = plan
    ? priceInvoice({ currency: plan.currency, baseFeeMinor: plan.baseFeeMinor, prices: plan.prices }, billedQuantities(usage))
    : { currency: null, lines: [], totalMinor: 0 };
  const lines: BilledLine[] = priced.lines.map((line) =>
    line.type === 'usage' ? { ...line, carriedIn: usage.carriedIn[line.metric] ?? 0 } : line,
  );
  return {
    id: invoiceId,
    periodId: period.id,
    consumerId: period.consumerId,
    currency: priced.currency,
    periodStart: period.start.toISOString(),
    periodEnd: period.end.toISOString(),
    status,
    lines,
    totalMinor: priced.totalMinor,
  };
}
