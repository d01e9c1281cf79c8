import { MAX_JSON_DEPTH, nestsDeeperThan } from './json-body';

describe('nestsDeeperThan', () => {
  const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

  it.each([
    ['{}', 1, false],
    ['{}', 0, true],
    ['{"a":{"b":[1,2]}}', 3, false],
    ['{"a":{"b":[1,2]}}', 2, true],
    ['[[],[],[]]', 2, false],
    ['{"a":"[[[[[[[["}', 1, false],
    ['{"a":"\\"[[[[","b":1}', 1, false],
    ['"\\\\"', 0, false],
    ['[1, "x\\\\", [2]]', 2, false],
    ['[1, "x\\\\", [2]]', 1, true],
  ])('%s deeper than %d: %s', (text, max, expected) => {
    expect(nestsDeeperThan(text, max)).toBe(expected);
  });

  it('allows exactly MAX_JSON_DEPTH levels and refuses one more', () => {
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
  });

  it('answers 150,000 levels quickly and without recursion', () => {
    const text = '{"a":'.repeat(150_000) + '1' + '}'.repeat(150_000);
    const started = process.hrtime.bigint();
    expect(nestsDeeperThan(text, MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan('[' + '0,'.repeat(300_000) + '0]', MAX_JSON_DEPTH)).toBe(false);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });
});
