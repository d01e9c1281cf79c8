import fc from 'fast-check';
import { priceInvoice, priceLine } from './pricing';
import type { PlanPricing, Price, Tier } from './pricing.types';
import { minorUnitExponent } from './currency';
import { validatePrices } from './validation';

const GRADUATED_TIERS: Tier[] = [
  { upTo: 1000, unitPrice: '0.01' },
  { upTo: 5000, unitPrice: '0.008', flatFee: '2' },
  { upTo: null, unitPrice: '0.005' },
];
const VOLUME_TIERS: Tier[] = [
  { upTo: 1000, unitPrice: '0.01' },
  { upTo: 5000, unitPrice: '0.008', flatFee: '5' },
  { upTo: null, unitPrice: '0.005', flatFee: '10' },
];

const perUnit = (unitPrice: string, includedUnits?: number): Price => ({
  metric: 'requests',
  model: 'per_unit',
  unitPrice,
  ...(includedUnits === undefined ? {} : { includedUnits }),
});
const pkg = (includedUnits = 0): Price => ({
  metric: 'sms',
  model: 'package',
  packageSize: 1000,
  packagePrice: '5',
  includedUnits,
});
const graduated = (includedUnits = 0): Price => ({ metric: 'tokens', model: 'graduated', tiers: GRADUATED_TIERS, includedUnits });
const volume = (includedUnits = 0): Price => ({ metric: 'seats', model: 'volume', tiers: VOLUME_TIERS, includedUnits });

/**
 * An independent oracle: fixed-point BigInt in units of 10^-12 (the finest a price may be written in),
 * then half-up to the minor unit. Shares no code with the engine.
 */
const SCALE = 12;
function fixed(value: string): bigint {
  const [int, frac = ''] = value.split('.');
  return BigInt(int + frac.padEnd(SCALE, '0'));
}
function roundToMinor(scaled: bigint, currency: string): number {
  const divisor = 10n ** BigInt(SCALE - minorUnitExponent(currency));
  return Number((scaled + divisor / 2n) / divisor);
}
function oracleVolume(tiers: Tier[], billable: number): { scaled: bigint; tier: Tier } {
  const tier = tiers.find((t) => t.upTo === null || billable <= t.upTo)!;
  if (billable === 0) return { scaled: 0n, tier: tiers[0] };
  return { scaled: BigInt(billable) * fixed(tier.unitPrice) + fixed(tier.flatFee ?? '0'), tier };
}
function oracleGraduated(tiers: Tier[], billable: number): bigint {
  let total = 0n;
  let lower = 0;
  for (const tier of tiers) {
    const upper = tier.upTo ?? Number.MAX_SAFE_INTEGER;
    const units = Math.max(0, Math.min(billable, upper) - lower);
    if (units > 0) total += BigInt(units) * fixed(tier.unitPrice) + fixed(tier.flatFee ?? '0');
    lower = upper;
  }
  return total;
}

describe('priceLine: per_unit', () => {
  it.each([
    // [unitPrice, includedUnits, quantity, currency, included, billable, amountMinor]
    ['0.002', 1000, 1500, 'USD', 1000, 500, 100],
    ['0.002', 1000, 0, 'USD', 0, 0, 0],
    ['0.002', 1000, 400, 'USD', 400, 0, 0],
    ['0.002', 1000, 1000, 'USD', 1000, 0, 0],
    ['0.0004', 0, 12345, 'USD', 0, 12345, 494], // 4.938 USD
    ['0.005', 0, 1, 'USD', 0, 1, 1], // half a cent rounds up
    ['0.0049', 0, 1, 'USD', 0, 1, 0],
    ['0.025', 0, 1, 'USD', 0, 1, 3], // half-up, not half-even (which would give 2)
    ['1.005', 0, 1, 'USD', 0, 1, 101], // 1.005 * 100 in binary floats is 100.49999…
    ['0.1', 0, 3, 'USD', 0, 3, 30], // 0.1 * 3 in binary floats is 0.30000000000000004
    ['0.5', 0, 3, 'JPY', 0, 3, 2], // 1.5 yen
    ['0.4', 0, 3, 'JPY', 0, 3, 1], // 1.2 yen
    ['0.0125', 0, 3, 'KWD', 0, 3, 38], // 0.0375 KWD = 37.5 fils
    ['0.0005', 0, 1, 'BHD', 0, 1, 1], // half a fils
    ['0.000000000001', 0, 9_007_199_254_740_991, 'USD', 0, 9_007_199_254_740_991, 900_720], // 9007.199254740991 USD, exact at 2^53 - 1
  ])('%s × (%i included) of %i %s', (unitPrice, includedUnits, quantity, currency, included, billable, amountMinor) => {
    expect(priceLine(perUnit(unitPrice, includedUnits), quantity, currency)).toEqual({
      type: 'usage',
      metric: 'requests',
      quantity,
      included,
      billable,
      unitPrice,
      amountMinor,
    });
  });

  it('defaults includedUnits to 0', () => {
    expect(priceLine(perUnit('0.01'), 7, 'USD')).toMatchObject({ included: 0, billable: 7, amountMinor: 7 });
  });

  it('does not let Decimal.set elsewhere change the result', () => {
    const { Decimal } = jest.requireActual<typeof import('decimal.js')>('decimal.js');
    const saved = { precision: Decimal.precision, rounding: Decimal.rounding };
    Decimal.set({ precision: 2, rounding: Decimal.ROUND_DOWN });
    try {
      expect(priceLine(perUnit('0.0125'), 3, 'KWD').amountMinor).toBe(38);
    } finally {
      Decimal.set(saved);
    }
  });
});

describe('priceLine: package', () => {
  it.each([
    // [includedUnits, quantity, included, billable, amountMinor] with 1000 units per package at 5.00
    [0, 0, 0, 0, 0],
    [0, 1, 0, 1, 500], // a started package is charged in full
    [0, 1000, 0, 1000, 500], // exactly one package
    [0, 1001, 0, 1001, 1000],
    [0, 2500, 0, 2500, 1500],
    [0, 3000, 0, 3000, 1500],
    [500, 1500, 500, 1000, 500],
    [500, 1501, 500, 1001, 1000],
    [5000, 1200, 1200, 0, 0],
  ])('%i included, %i units', (includedUnits, quantity, included, billable, amountMinor) => {
    expect(priceLine(pkg(includedUnits), quantity, 'USD')).toEqual({
      type: 'usage',
      metric: 'sms',
      quantity,
      included,
      billable,
      unitPrice: '5',
      amountMinor,
    });
  });

  it('counts packages exactly for quantities near 2^53', () => {
    const price: Price = { metric: 'x', model: 'package', packageSize: 3, packagePrice: '0.000001' };
    // (2^53 - 1) / 3 = 3002399751580330.33… → 3002399751580331 packages → 3002399751.580331 USD
    expect(priceLine(price, 9_007_199_254_740_991, 'USD').amountMinor).toBe(300_239_975_158);
  });
});

describe('priceLine: graduated', () => {
  it.each([
    // tiers: ≤1000 at 0.01; 1001–5000 at 0.008 + 2.00 flat; above at 0.005
    [0, 0, 0, []],
    [0, 1, 1, [{ upTo: 1000, units: 1, unitPrice: '0.01', amount: '0.01' }]],
    [0, 1000, 1000, [{ upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' }]],
    [
      0,
      1001,
      1201, // 10 + 0.008 + 2 = 12.008
      [
        { upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' },
        { upTo: 5000, units: 1, unitPrice: '0.008', flatFee: '2', amount: '2.008' },
      ],
    ],
    [
      0,
      5000,
      4400,
      [
        { upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' },
        { upTo: 5000, units: 4000, unitPrice: '0.008', flatFee: '2', amount: '34' },
      ],
    ],
    [
      0,
      7000,
      5400,
      [
        { upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' },
        { upTo: 5000, units: 4000, unitPrice: '0.008', flatFee: '2', amount: '34' },
        { upTo: null, units: 2000, unitPrice: '0.005', amount: '10' },
      ],
    ],
    [500, 1500, 1000, [{ upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' }]],
    [10_000, 7000, 0, []],
  ])('%i included, %i units → %i', (includedUnits, quantity, amountMinor, tiers) => {
    const included = Math.min(quantity, includedUnits);
    expect(priceLine(graduated(includedUnits), quantity, 'USD')).toEqual({
      type: 'usage',
      metric: 'tokens',
      quantity,
      included,
      billable: quantity - included,
      unitPrice: null,
      tiers,
      amountMinor,
    });
  });

  it('rounds the line once, not each tier', () => {
    const price: Price = {
      metric: 'x',
      model: 'graduated',
      tiers: [
        { upTo: 1, unitPrice: '0.004' },
        { upTo: null, unitPrice: '0.004' },
      ],
    };
    // per tier 0.4 + 0.4 cents would round to 0 + 0; the line is 0.8 cents → 1
    expect(priceLine(price, 2, 'USD').amountMinor).toBe(1);
  });
});

describe('priceLine: volume', () => {
  it.each([
    // tiers: ≤1000 at 0.01; ≤5000 at 0.008 + 5.00 flat; above at 0.005 + 10.00 flat
    [0, 0, '0.01', 0, []],
    [0, 1, '0.01', 1, [{ upTo: 1000, units: 1, unitPrice: '0.01', amount: '0.01' }]],
    [0, 1000, '0.01', 1000, [{ upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' }]],
    [0, 1001, '0.008', 1301, [{ upTo: 5000, units: 1001, unitPrice: '0.008', flatFee: '5', amount: '13.008' }]],
    [0, 5000, '0.008', 4500, [{ upTo: 5000, units: 5000, unitPrice: '0.008', flatFee: '5', amount: '45' }]],
    [0, 5001, '0.005', 3501, [{ upTo: null, units: 5001, unitPrice: '0.005', flatFee: '10', amount: '35.005' }]],
    [1000, 1001, '0.01', 1, [{ upTo: 1000, units: 1, unitPrice: '0.01', amount: '0.01' }]],
    [2000, 1500, '0.01', 0, []],
  ])('%i included, %i units → %s each, %i', (includedUnits, quantity, unitPrice, amountMinor, tiers) => {
    const included = Math.min(quantity, includedUnits);
    expect(priceLine(volume(includedUnits), quantity, 'USD')).toEqual({
      type: 'usage',
      metric: 'seats',
      quantity,
      included,
      billable: quantity - included,
      unitPrice,
      tiers,
      amountMinor,
    });
  });

  it('prices in JPY and a 3-decimal currency', () => {
    expect(priceLine(volume(), 1001, 'JPY').amountMinor).toBe(13); // 13.008 yen
    expect(priceLine(volume(), 1001, 'OMR').amountMinor).toBe(13_008);
  });
});

describe('priceLine: refuses what it cannot price', () => {
  it.each([-1, 1.5, Number.NaN, Infinity, 2 ** 53])('quantity %p', (quantity) => {
    expect(() => priceLine(perUnit('1'), quantity, 'USD')).toThrow(RangeError);
  });

  it('broken prices', () => {
    expect(() => priceLine({ metric: 'x', model: 'per_unit' }, 1, 'USD')).toThrow(/unitPrice/);
    expect(() => priceLine({ metric: 'x', model: 'per_unit', unitPrice: '1e3' }, 1, 'USD')).toThrow(/unitPrice/);
    expect(() => priceLine({ metric: 'x', model: 'package', packagePrice: '1' }, 1, 'USD')).toThrow(/packageSize/);
    expect(() => priceLine({ metric: 'x', model: 'graduated', tiers: [] }, 1, 'USD')).toThrow(/tiers/);
    const bounded: Tier[] = [{ upTo: 10, unitPrice: '1' }];
    expect(() => priceLine({ metric: 'x', model: 'graduated', tiers: bounded }, 11, 'USD')).toThrow(/tiers end/);
    expect(() => priceLine({ metric: 'x', model: 'volume', tiers: bounded }, 11, 'USD')).toThrow(/tiers end/);
    expect(() => priceLine({ metric: 'x', model: 'flat' as never }, 1, 'USD')).toThrow(/model/);
  });

  it('an amount past 2^53 minor units', () => {
    expect(() => priceLine(perUnit('999999999999'), 9_007_199_254_740_991, 'USD')).toThrow(/too large/);
  });
});

describe('priceInvoice', () => {
  const plan: PlanPricing = {
    currency: 'USD',
    baseFeeMinor: 4900,
    prices: [perUnit('0.0004', 10_000), graduated(), pkg()],
  };

  it('bills the base fee, then one line per price in plan order', () => {
    expect(priceInvoice(plan, { requests: 25_000, tokens: 7000, unpriced: 99 })).toEqual({
      currency: 'USD',
      lines: [
        { type: 'base_fee', metric: 'base_fee', quantity: 1, included: 0, billable: 1, unitPrice: '49.00', amountMinor: 4900 },
        { type: 'usage', metric: 'requests', quantity: 25_000, included: 10_000, billable: 15_000, unitPrice: '0.0004', amountMinor: 600 },
        {
          type: 'usage',
          metric: 'tokens',
          quantity: 7000,
          included: 0,
          billable: 7000,
          unitPrice: null,
          tiers: [
            { upTo: 1000, units: 1000, unitPrice: '0.01', amount: '10' },
            { upTo: 5000, units: 4000, unitPrice: '0.008', flatFee: '2', amount: '34' },
            { upTo: null, units: 2000, unitPrice: '0.005', amount: '10' },
          ],
          amountMinor: 5400,
        },
        { type: 'usage', metric: 'sms', quantity: 0, included: 0, billable: 0, unitPrice: '5', amountMinor: 0 },
      ],
      totalMinor: 10_900,
    });
  });

  it('has no base fee line without a base fee', () => {
    const invoice = priceInvoice({ ...plan, baseFeeMinor: 0 }, {});
    expect(invoice.lines.map((l) => l.metric)).toEqual(['requests', 'tokens', 'sms']);
    expect(invoice.totalMinor).toBe(0);
  });

  it('a plan with no prices and no base fee is an empty invoice', () => {
    expect(priceInvoice({ currency: 'EUR', baseFeeMinor: 0, prices: [] }, { requests: 5 })).toEqual({
      currency: 'EUR',
      lines: [],
      totalMinor: 0,
    });
  });

  it('writes the base fee in the currency’s decimals', () => {
    const jpy = priceInvoice({ currency: 'JPY', baseFeeMinor: 5000, prices: [perUnit('0.5')] }, { requests: 3 });
    expect(jpy.lines.map((l) => [l.unitPrice, l.amountMinor])).toEqual([
      ['5000', 5000],
      ['0.5', 2],
    ]);
    expect(jpy.totalMinor).toBe(5002);
    const kwd = priceInvoice({ currency: 'KWD', baseFeeMinor: 12_500, prices: [] }, {});
    expect(kwd.lines[0].unitPrice).toBe('12.500');
    expect(priceInvoice({ currency: 'USD', baseFeeMinor: 5, prices: [] }, {}).lines[0].unitPrice).toBe('0.05');
  });

  it('reads usage by own property only', () => {
    const price: Price = { metric: 'constructor', model: 'per_unit', unitPrice: '1' };
    expect(priceInvoice({ currency: 'USD', baseFeeMinor: 0, prices: [price] }, {}).totalMinor).toBe(0);
    expect(priceInvoice({ currency: 'USD', baseFeeMinor: 0, prices: [price] }, { constructor: 2 }).totalMinor).toBe(200);
  });

  it('refuses a bad base fee', () => {
    expect(() => priceInvoice({ currency: 'USD', baseFeeMinor: -1, prices: [] }, {})).toThrow(RangeError);
    expect(() => priceInvoice({ currency: 'USD', baseFeeMinor: 1.5, prices: [] }, {})).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const decimalArb = fc
  .tuple(fc.nat({ max: 999 }), fc.option(fc.stringMatching(/^[0-9]{1,8}$/), { nil: undefined }))
  .map(([int, frac]) => (frac === undefined ? `${int}` : `${int}.${frac}`));

const tiersArb: fc.Arbitrary<Tier[]> = fc
  .array(
    fc.record({ width: fc.integer({ min: 1, max: 5000 }), unitPrice: decimalArb, flatFee: fc.option(decimalArb, { nil: undefined }) }),
    { minLength: 1, maxLength: 5 },
  )
  .map((rows) => {
    let upTo = 0;
    return rows.map((row, i) => {
      upTo += row.width;
      const tier: Tier = { upTo: i === rows.length - 1 ? null : upTo, unitPrice: row.unitPrice };
      return row.flatFee === undefined ? tier : { ...tier, flatFee: row.flatFee };
    });
  });

const includedArb = fc.option(fc.nat({ max: 3000 }), { nil: undefined });
const perUnitArb = fc.record({ unitPrice: decimalArb, includedUnits: includedArb }).map(
  (p): Price => ({ metric: 'per_unit', model: 'per_unit', ...p }),
);
const packageArb = fc
  .record({ packageSize: fc.integer({ min: 1, max: 2000 }), packagePrice: decimalArb, includedUnits: includedArb })
  .map((p): Price => ({ metric: 'package', model: 'package', ...p }));
const graduatedArb = fc
  .record({ tiers: tiersArb, includedUnits: includedArb })
  .map((p): Price => ({ metric: 'graduated', model: 'graduated', ...p }));
const volumeArb = fc
  .record({ tiers: tiersArb, includedUnits: includedArb })
  .map((p): Price => ({ metric: 'volume', model: 'volume', ...p }));
const anyPriceArb = fc.oneof(perUnitArb, packageArb, graduatedArb, volumeArb);
const currencyArb = fc.constantFrom('USD', 'EUR', 'JPY', 'KWD', 'CLF');
const quantityArb = fc.nat({ max: 50_000 });

describe('pricing properties', () => {
  it.each([
    ['per_unit', perUnitArb],
    ['package', packageArb],
    ['graduated', graduatedArb],
  ])('%s never charges less for more', (_model, priceArb) => {
    fc.assert(
      fc.property(priceArb, quantityArb, quantityArb, currencyArb, (price, q, extra, currency) => {
        expect(priceLine(price, q + extra, currency).amountMinor).toBeGreaterThanOrEqual(
          priceLine(price, q, currency).amountMinor,
        );
      }),
    );
  });

  it('volume charges billable × the reached tier’s price + its flat fee, exactly', () => {
    fc.assert(
      fc.property(volumeArb, quantityArb, currencyArb, (price, quantity, currency) => {
        const line = priceLine(price, quantity, currency);
        const { scaled, tier } = oracleVolume(price.tiers!, line.billable);
        expect(line.amountMinor).toBe(roundToMinor(scaled, currency));
        expect(line.unitPrice).toBe(tier.unitPrice);
      }),
    );
  });

  it('graduated charges the sum of its tiers, rounded once', () => {
    fc.assert(
      fc.property(graduatedArb, quantityArb, currencyArb, (price, quantity, currency) => {
        const line = priceLine(price, quantity, currency);
        expect(line.amountMinor).toBe(roundToMinor(oracleGraduated(price.tiers!, line.billable), currency));
        expect(line.tiers!.reduce((n, t) => n + t.units, 0)).toBe(line.billable);
        const fromBreakdown = line.tiers!.reduce((sum, t) => sum + fixed(t.amount), 0n);
        expect(line.amountMinor).toBe(roundToMinor(fromBreakdown, currency));
      }),
    );
  });

  it('per_unit and package match fixed-point arithmetic', () => {
    fc.assert(
      fc.property(perUnitArb, packageArb, quantityArb, currencyArb, (unit, pack, quantity, currency) => {
        const u = priceLine(unit, quantity, currency);
        expect(u.amountMinor).toBe(roundToMinor(BigInt(u.billable) * fixed(unit.unitPrice!), currency));
        const p = priceLine(pack, quantity, currency);
        const packages = BigInt(Math.ceil(p.billable / pack.packageSize!));
        expect(p.amountMinor).toBe(roundToMinor(packages * fixed(pack.packagePrice!), currency));
      }),
    );
  });

  it('the prices generated here are valid, so the properties speak about plans the API accepts', () => {
    fc.assert(
      fc.property(anyPriceArb, (price) => {
        expect(validatePrices([price], 'USD')).toEqual([]);
      }),
    );
  });

  it('never charges included units', () => {
    fc.assert(
      fc.property(anyPriceArb, quantityArb, fc.nat({ max: 1000 }), currencyArb, (price, quantity, spare, currency) => {
        const line = priceLine({ ...price, includedUnits: quantity + spare }, quantity, currency);
        expect(line).toMatchObject({ included: quantity, billable: 0, amountMinor: 0 });
      }),
    );
  });

  it('lines are integers that sum exactly to the total, and the same input gives the same invoice', () => {
    const planArb = fc.record({
      currency: currencyArb,
      baseFeeMinor: fc.nat({ max: 10_000_000 }),
      prices: fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), anyPriceArb), {
        maxLength: 5,
        selector: ([metric]) => metric,
      }),
    });
    const usageArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'x'), quantityArb);
    fc.assert(
      fc.property(planArb, usageArb, (raw, usage) => {
        const plan: PlanPricing = { ...raw, prices: raw.prices.map(([metric, p]) => ({ ...p, metric })) };
        const before = structuredClone({ plan, usage });
        const invoice = priceInvoice(plan, usage);
        for (const line of invoice.lines) expect(Number.isSafeInteger(line.amountMinor)).toBe(true);
        expect(invoice.totalMinor).toBe(invoice.lines.reduce((sum, l) => sum + l.amountMinor, 0));
        expect(invoice.lines).toHaveLength(plan.prices.length + (plan.baseFeeMinor > 0 ? 1 : 0));
        expect(priceInvoice(structuredClone(plan), structuredClone(usage))).toEqual(invoice);
        expect({ plan, usage }).toEqual(before);
      }),
    );
  });
});
