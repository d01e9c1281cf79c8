import { validatePrices } from './validation';

const fields = (prices: unknown, currency = 'USD') => validatePrices(prices, currency).map((e) => e.field);

describe('validatePrices', () => {
  it('accepts one price of each model', () => {
    expect(
      validatePrices(
        [
          { metric: 'requests', model: 'per_unit', unitPrice: '0.0004', includedUnits: 10000 },
          { metric: 'sms', model: 'package', packageSize: 1000, packagePrice: '5.00' },
          {
            metric: 'tokens',
            model: 'graduated',
            tiers: [
              { upTo: 1000, unitPrice: '0' },
              { upTo: 5000, unitPrice: '0.008', flatFee: '2' },
              { upTo: null, unitPrice: '0.005' },
            ],
          },
          { metric: 'seats.v2', model: 'volume', tiers: [{ upTo: null, unitPrice: '10', flatFee: '0' }], includedUnits: 0 },
        ],
        'USD',
      ),
    ).toEqual([]);
    expect(validatePrices([], 'JPY')).toEqual([]);
  });

  it('ignores fields that are present but undefined, as DTO instances carry them', () => {
    expect(
      validatePrices([{ metric: 'a', model: 'per_unit', unitPrice: '1', tiers: undefined, packageSize: undefined }], 'USD'),
    ).toEqual([]);
  });

  it.each([
    ['not an array', { metric: 'a' }, ['prices']],
    ['not an object', ['a'], ['prices[0]']],
    ['metric missing', [{ model: 'per_unit', unitPrice: '1' }], ['prices[0].metric']],
    ['metric uppercase', [{ metric: 'Requests', model: 'per_unit', unitPrice: '1' }], ['prices[0].metric']],
    ['metric starts with digit', [{ metric: '1x', model: 'per_unit', unitPrice: '1' }], ['prices[0].metric']],
    ['metric too long', [{ metric: 'a'.repeat(65), model: 'per_unit', unitPrice: '1' }], ['prices[0].metric']],
    [
      'duplicate metric',
      [
        { metric: 'a', model: 'per_unit', unitPrice: '1' },
        { metric: 'a', model: 'per_unit', unitPrice: '2' },
      ],
      ['prices[1].metric'],
    ],
    ['unknown model', [{ metric: 'a', model: 'flat', unitPrice: '1' }], ['prices[0].model']],
    ['unitPrice missing', [{ metric: 'a', model: 'per_unit' }], ['prices[0].unitPrice']],
    ['unitPrice a number', [{ metric: 'a', model: 'per_unit', unitPrice: 0.5 }], ['prices[0].unitPrice']],
    ['unitPrice negative', [{ metric: 'a', model: 'per_unit', unitPrice: '-1' }], ['prices[0].unitPrice']],
    ['unitPrice exponent', [{ metric: 'a', model: 'per_unit', unitPrice: '1e-3' }], ['prices[0].unitPrice']],
    ['unitPrice bare point', [{ metric: 'a', model: 'per_unit', unitPrice: '.5' }], ['prices[0].unitPrice']],
    ['unitPrice 13 decimals', [{ metric: 'a', model: 'per_unit', unitPrice: '0.0000000000001' }], ['prices[0].unitPrice']],
    ['unitPrice 13 digits', [{ metric: 'a', model: 'per_unit', unitPrice: '1000000000000' }], ['prices[0].unitPrice']],
    ['includedUnits negative', [{ metric: 'a', model: 'per_unit', unitPrice: '1', includedUnits: -1 }], ['prices[0].includedUnits']],
    ['includedUnits fraction', [{ metric: 'a', model: 'per_unit', unitPrice: '1', includedUnits: 1.5 }], ['prices[0].includedUnits']],
    ['includedUnits string', [{ metric: 'a', model: 'per_unit', unitPrice: '1', includedUnits: '5' }], ['prices[0].includedUnits']],
    ['field of another model', [{ metric: 'a', model: 'per_unit', unitPrice: '1', packageSize: 10 }], ['prices[0].packageSize']],
    ['unknown field', [{ metric: 'a', model: 'per_unit', unitPrice: '1', currency: 'USD' }], ['prices[0].currency']],
    ['package fields missing', [{ metric: 'a', model: 'package' }], ['prices[0].packageSize', 'prices[0].packagePrice']],
    ['packageSize 0', [{ metric: 'a', model: 'package', packageSize: 0, packagePrice: '1' }], ['prices[0].packageSize']],
    ['packageSize fraction', [{ metric: 'a', model: 'package', packageSize: 2.5, packagePrice: '1' }], ['prices[0].packageSize']],
    ['tiers missing', [{ metric: 'a', model: 'graduated' }], ['prices[0].tiers']],
    ['tiers empty', [{ metric: 'a', model: 'volume', tiers: [] }], ['prices[0].tiers']],
    ['unitPrice on a tiered model', [{ metric: 'a', model: 'volume', unitPrice: '1', tiers: [{ upTo: null, unitPrice: '1' }] }], ['prices[0].unitPrice']],
    ['last tier bounded', [{ metric: 'a', model: 'graduated', tiers: [{ upTo: 10, unitPrice: '1' }] }], ['prices[0].tiers[0].upTo']],
    [
      'null before the last tier',
      [{ metric: 'a', model: 'graduated', tiers: [{ upTo: null, unitPrice: '1' }, { upTo: null, unitPrice: '1' }] }],
      ['prices[0].tiers[0].upTo'],
    ],
    [
      'upTo not increasing',
      [
        {
          metric: 'a',
          model: 'graduated',
          tiers: [
            { upTo: 10, unitPrice: '1' },
            { upTo: 10, unitPrice: '1' },
            { upTo: null, unitPrice: '1' },
          ],
        },
      ],
      ['prices[0].tiers[1].upTo'],
    ],
    [
      'upTo zero or fractional',
      [
        {
          metric: 'a',
          model: 'volume',
          tiers: [
            { upTo: 0, unitPrice: '1' },
            { upTo: 2.5, unitPrice: '1' },
            { upTo: null, unitPrice: '1' },
          ],
        },
      ],
      ['prices[0].tiers[0].upTo', 'prices[0].tiers[1].upTo'],
    ],
    ['upTo missing on a middle tier', [{ metric: 'a', model: 'volume', tiers: [{ unitPrice: '1' }, { upTo: null, unitPrice: '1' }] }], ['prices[0].tiers[0].upTo']],
    ['tier unitPrice missing', [{ metric: 'a', model: 'volume', tiers: [{ upTo: null }] }], ['prices[0].tiers[0].unitPrice']],
    ['tier flatFee bad', [{ metric: 'a', model: 'volume', tiers: [{ upTo: null, unitPrice: '1', flatFee: 'free' }] }], ['prices[0].tiers[0].flatFee']],
    ['tier unknown field', [{ metric: 'a', model: 'volume', tiers: [{ upTo: null, unitPrice: '1', from: 0 }] }], ['prices[0].tiers[0].from']],
    ['tier not an object', [{ metric: 'a', model: 'volume', tiers: [5, { upTo: null, unitPrice: '1' }] }], ['prices[0].tiers[0]']],
  ])('%s', (_case, prices, expected) => {
    expect(fields(prices)).toEqual(expected);
  });

  it('checks the currency', () => {
    expect(fields([], 'usd')).toEqual(['currency']);
    expect(fields([], 'HRK')).toEqual(['currency']);
  });

  it('reports every problem with a message', () => {
    const errors = validatePrices(
      [
        { metric: 'a', model: 'per_unit', unitPrice: '1', tiers: [] },
        { metric: 'a', model: 'package', packageSize: 0, packagePrice: 'x' },
      ],
      'USD',
    );
    expect(errors).toEqual([
      { field: 'prices[0].tiers', message: 'is not used by model per_unit (only by graduated, volume)' },
      { field: 'prices[1].metric', message: 'duplicate metric "a" (also prices[0])' },
      { field: 'prices[1].packageSize', message: 'must be an integer ≥ 1' },
      {
        field: 'prices[1].packagePrice',
        message: 'must be a non-negative decimal string such as "0.0004" (at most 12 digits on each side)',
      },
    ]);
  });
});
