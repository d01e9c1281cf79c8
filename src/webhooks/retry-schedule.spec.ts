import fc from 'fast-check';
import { retryDelayMs } from './retry-schedule';

describe('retryDelayMs', () => {
  it('spreads the default 8 attempts over about a day', () => {
    const mid = () => 0.5;
    const total = [1, 2, 3, 4, 5, 6, 7].reduce((sum, attempt) => sum + retryDelayMs(attempt, 15_000, mid), 0);
    expect(total / 3_600_000).toBeGreaterThan(20);
    expect(total / 3_600_000).toBeLessThan(28);
    expect(retryDelayMs(1, 15_000, mid)).toBe(15_000);
  });

  it('stays within ±20 % of base × 4^(attempt − 1) and the next attempt always waits longer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 10, max: 100_000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, base, r) => {
        const d = retryDelayMs(attempt, base, () => r);
        const exact = base * 4 ** (attempt - 1);
        expect(d).toBeGreaterThanOrEqual(Math.floor(exact * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(exact * 1.2));
        expect(retryDelayMs(attempt + 1, base, () => 0)).toBeGreaterThan(d);
      }),
    );
  });
});
