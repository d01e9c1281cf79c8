import type { QuotaRule } from '../auth/auth-key';
import type { Price } from '../billing/pricing/pricing.types';
import type { Plan } from './plan.entity';

/** What a billing period keeps of its plan when it opens: later plan changes do not reach it. */
export interface PlanSnapshot {
  id: string;
  name: string;
  currency: string;
  baseFeeMinor: number;
  prices: Price[];
  quotas: QuotaRule[];
}

export function snapshotOf(plan: Plan): PlanSnapshot {
  return {
    id: plan.id,
    name: plan.name,
    currency: plan.currency,
    baseFeeMinor: plan.baseFeeMinor,
    prices: plan.prices ?? [],
    quotas: plan.quotas ?? [],
  };
}
