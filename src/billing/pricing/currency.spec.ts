import { CURRENCY_CODES, isCurrency, minorUnitExponent } from './currency';

describe('currency', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['GBP', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['VND', 0],
    ['CLP', 0],
    ['ISK', 0],
    ['UGX', 0],
    ['XAF', 0],
    ['XOF', 0],
    ['BHD', 3],
    ['KWD', 3],
    ['OMR', 3],
    ['JOD', 3],
    ['TND', 3],
    ['IQD', 3],
    ['LYD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['jpy', 0],
    ['ZZZ', 2],
  ])('%s has %i decimals', (code, exponent) => {
    expect(minorUnitExponent(code)).toBe(exponent);
  });

  it.each(['USD', 'EUR', 'JPY', 'KWD', 'CHF', 'SLE', 'VED', 'XCG', 'ZWG', 'XOF'])('accepts %s', (code) => {
    expect(isCurrency(code)).toBe(true);
  });

  it.each(['usd', 'US', 'USDD', 'ABC', '', 'HRK', 'SLL', 'ZWL', 'CUC', 'ANG', 'XAU', 'XXX', 'XTS', null, 840])(
    'refuses %p',
    (code) => {
      expect(isCurrency(code)).toBe(false);
    },
  );

  it('lists each active code once, sorted', () => {
    expect(CURRENCY_CODES.length).toBeGreaterThan(150);
    expect(new Set(CURRENCY_CODES).size).toBe(CURRENCY_CODES.length);
    expect([...CURRENCY_CODES].sort()).toEqual(CURRENCY_CODES);
    for (const code of CURRENCY_CODES) expect(code).toMatch(/^[A-Z]{3}$/);
  });
});
