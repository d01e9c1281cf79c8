import fc from 'fast-check';
import { checksum, generateKey, parseKey, RANDOM_LENGTH, startOf } from './key-format';

describe('key format', () => {
  it('generates keys with prefix, environment, random part and checksum', () => {
    const { key, start } = generateKey('tg', 'live');
    expect(key).toMatch(new RegExp(`^tg_live_[0-9A-Za-z]{${RANDOM_LENGTH + 6}}$`));
    expect(key.startsWith(start)).toBe(true);
    expect(start).toHaveLength('tg_live_'.length + 4);
    expect(parseKey(key)).toEqual({ prefix: 'tg', environment: 'live' });
  });

  it('never generates the same key twice in 10k draws', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(generateKey('tg', 'test').key);
    expect(seen.size).toBe(10_000);
  });

  it.each([
    ['', 'empty'],
    ['tg_live_', 'no random part'],
    ['tg_prod_' + 'a'.repeat(38), 'unknown environment'],
    ['TG_live_' + 'a'.repeat(38), 'uppercase prefix'],
    ['tg_live_' + 'a'.repeat(20), 'too short'],
    ['tg_live_' + 'a'.repeat(200), 'too long'],
    ['tg_live_' + 'a'.repeat(37) + '!', 'bad character'],
  ])('rejects %j (%s)', (key) => {
    expect(parseKey(key)).toBeNull();
  });

  it('rejects any single-character typo (checksum)', () => {
    const { key } = generateKey('tg', 'live');
    fc.assert(
      fc.property(fc.integer({ min: 8, max: key.length - 1 }), fc.constantFrom(...'abcXYZ019'), (pos, ch) => {
        fc.pre(key[pos] !== ch);
        const typo = key.slice(0, pos) + ch + key.slice(pos + 1);
        expect(parseKey(typo)).toBeNull();
      }),
    );
  });

  it('checksum is 6 base62 characters and stable', () => {
    expect(checksum('tg_live_abc')).toMatch(/^[0-9A-Za-z]{6}$/);
    expect(checksum('tg_live_abc')).toBe(checksum('tg_live_abc'));
    expect(startOf('tg_test_ABCDEFGH')).toBe('tg_test_ABCD');
  });
});
