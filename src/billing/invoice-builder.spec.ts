import fc from 'fast-check';
import type { PlanSnapshot } from '../plans/plan-snapshot';
import { billedQuantities, buildInvoice } from './invoice-builder';

const plan: PlanSnapshot = {
  id: 'plan_1',
  name: 'Pro',
  currency: 'USD',
  baseFeeMinor: 4900,
  prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 }],
  quotas: [],
};
const period = { id: 'per_1', consumerId: 'cons_1', start: new Date('2025-04-01T00:00:00Z'), end: new Date('2025-05-01T00:00:00Z') };

describe('buildInvoice', () => {
  it('bills own-range usage plus what was carried in, and says how much was carried', () => {
    const invoice = buildInvoice({ ...period, planSnapshot: plan }, { ownRange: { requests: 23000, other: 5 }, carriedIn: { requests: 2000 } }, 'closed', 'inv_1');
    expect(invoice).toEqual({
      id: 'inv_1',
      periodId: 'per_1',
      consumerId: 'cons_1',
      currency: 'USD',
      periodStart: '2025-04-01T00:00:00.000Z',
      periodEnd: '2025-05-01T00:00:00.000Z',
      status: 'closed',
      lines: [
        { type: 'base_fee', metric: 'base_fee', quantity: 1, included: 0, billable: 1, unitPrice: '49.00', amountMinor: 4900 },
        { type: 'usage', metric: 'requests', quantity: 25000, included: 10000, billable: 15000, unitPrice: '0.0004', amountMinor: 600, carriedIn: 2000 },
      ],
      totalMinor: 5500,
    });
  });

  it('bills nothing, in no currency, without a plan', () => {
    const invoice = buildInvoice({ ...period, planSnapshot: null }, { ownRange: { requests: 5 }, carriedIn: {} }, 'open', null);
    expect(invoice).toMatchObject({ id: null, status: 'open', currency: null, lines: [], totalMinor: 0 });
  });

  it('billed quantity is own-range usage plus carry, metric by metric', () => {
    const usage = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.nat(1_000_000));
    fc.assert(
      fc.property(usage, usage, (ownRange, carriedIn) => {
        const total = billedQuantities({ ownRange, carriedIn });
        for (const m of ['a', 'b', 'c']) expect(total[m] ?? 0).toBe((ownRange[m] ?? 0) + (carriedIn[m] ?? 0));
      }),
    );
  });
});
