import { priceInvoice } from './pricing';
import type { InvoiceLine, PlanPricing } from './pricing.types';

/** Every worked example in docs/billing.md, so that the document stays true. Change both together. */
const baseFee = (unitPrice: string, amountMinor: number): InvoiceLine => ({
  type: 'base_fee',
  metric: 'base_fee',
  quantity: 1,
  included: 0,
  billable: 1,
  unitPrice,
  amountMinor,
});

describe('docs/billing.md examples', () => {
  it('per_unit with included units and a base fee', () => {
    const plan: PlanPricing = {
      currency: 'USD',
      baseFeeMinor: 4900,
      prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 }],
    };
    expect(priceInvoice(plan, { requests: 25000 })).toEqual({
      currency: 'USD',
      lines: [
        baseFee('49.00', 4900),
        {
          type: 'usage',
          metric: 'requests',
          quantity: 25000,
          included: 10000,
          billable: 15000,
          unitPrice: '0.0004',
          amountMinor: 600,
        },
      ],
      totalMinor: 5500,
    });
  });

  it('package', () => {
    const plan: PlanPricing = {
      currency: 'USD',
      baseFeeMinor: 0,
      prices: [{ metric: 'sms', model: 'package', packageSize: 1000, packagePrice: '5.00', includedUnits: 500 }],
    };
    expect(priceInvoice(plan, { sms: 2501 })).toEqual({
      currency: 'USD',
      lines: [
        { type: 'usage', metric: 'sms', quantity: 2501, included: 500, billable: 2001, unitPrice: '5.00', amountMinor: 1500 },
      ],
      totalMinor: 1500,
    });
  });

  const tiersPlan = (model: 'graduated' | 'volume', metric: string, fees: [string?, string?]): PlanPricing => ({
    currency: 'USD',
    baseFeeMinor: 0,
    prices: [
      {
        metric,
        model,
        tiers: [
          { upTo: 1000, unitPrice: '0.01' },
          { upTo: 5000, unitPrice: '0.008', ...(fees[0] ? { flatFee: fees[0] } : {}) },
          { upTo: null, unitPrice: '0.005', ...(fees[1] ? { flatFee: fees[1] } : {}) },
        ],
      },
    ],
  });

  it('graduated', () => {
    expect(priceInvoice(tiersPlan('graduated', 'tokens', ['2.00']), { tokens: 7000 })).toEqual({
      currency: 'USD',
      lines: [
        {
          type: 'usage',
          metric: 'tokens',
          quantity: 7000,
          included: 0,
          billable: 7000,
          unitPrice: null,
          tiers: [
            { upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' },
            { upTo: 5000, units: 4000, unitPrice: '0.008', flatFee: '2.00', amount: '34' },
            { upTo: null, units: 2000, unitPrice: '0.005', amount: '10' },
          ],
          amountMinor: 5400,
        },
      ],
      totalMinor: 5400,
    });
    const atBoundary = priceInvoice(tiersPlan('graduated', 'tokens', ['2.00']), { tokens: 1000 });
    expect(atBoundary.totalMinor).toBe(1000);
    expect(priceInvoice(tiersPlan('graduated', 'tokens', ['2.00']), { tokens: 1001 }).totalMinor).toBe(1201);
  });

  it('volume', () => {
    const plan = tiersPlan('volume', 'seats', ['5.00', '10.00']);
    expect(priceInvoice(plan, { seats: 1001 })).toEqual({
      currency: 'USD',
      lines: [
        {
          type: 'usage',
          metric: 'seats',
          quantity: 1001,
          included: 0,
          billable: 1001,
          unitPrice: '0.008',
          tiers: [{ upTo: 5000, units: 1001, unitPrice: '0.008', flatFee: '5.00', amount: '13.008' }],
          amountMinor: 1301,
        },
      ],
      totalMinor: 1301,
    });
    expect(priceInvoice(plan, { seats: 1000 }).totalMinor).toBe(1000);
    expect(priceInvoice(plan, { seats: 5000 }).totalMinor).toBe(4500);
    expect(priceInvoice(plan, { seats: 5001 }).totalMinor).toBe(3501);
    expect(priceInvoice(plan, {}).totalMinor).toBe(0);
  });

  it('JPY, a zero-decimal currency', () => {
    const plan: PlanPricing = {
      currency: 'JPY',
      baseFeeMinor: 5000,
      prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.05' }],
    };
    expect(priceInvoice(plan, { requests: 12345 })).toEqual({
      currency: 'JPY',
      lines: [
        baseFee('5000', 5000),
        { type: 'usage', metric: 'requests', quantity: 12345, included: 0, billable: 12345, unitPrice: '0.05', amountMinor: 617 },
      ],
      totalMinor: 5617,
    });
  });

  it('KWD, a three-decimal currency', () => {
    const plan: PlanPricing = {
      currency: 'KWD',
      baseFeeMinor: 12500,
      prices: [{ metric: 'requests', model: 'per_unit', unitPrice: '0.0125' }],
    };
    expect(priceInvoice(plan, { requests: 3 })).toEqual({
      currency: 'KWD',
      lines: [
        baseFee('12.500', 12500),
        { type: 'usage', metric: 'requests', quantity: 3, included: 0, billable: 3, unitPrice: '0.0125', amountMinor: 38 },
      ],
      totalMinor: 12538,
    });
  });

  it.each([
    ['0.005', 1],
    ['0.0049', 0],
    ['0.015', 2],
    ['0.025', 3],
    ['1.005', 101],
  ])('rounding table: one unit at %s USD is %i cents', (unitPrice, cents) => {
    const plan: PlanPricing = { currency: 'USD', baseFeeMinor: 0, prices: [{ metric: 'x', model: 'per_unit', unitPrice }] };
    expect(priceInvoice(plan, { x: 1 }).totalMinor).toBe(cents);
  });
});
