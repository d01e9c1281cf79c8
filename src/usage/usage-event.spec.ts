import { ErrorCode } from '../common/error-code';
import { checkEvent, MAX_PROPERTIES_BYTES } from './usage-event';

const NOW = Date.parse('2026-03-10T12:00:00.000Z');
const good = { metric: 'tokens', quantity: 5, idempotencyKey: 'k1' };
const check = (raw: unknown) => checkEvent(raw, 3, NOW, 35);
const problem = (raw: unknown) => {
  const c = check(raw);
  return c.ok ? null : c.rejection.message;
};

describe('checkEvent', () => {
  it('accepts a minimal event, dated now', () => {
    const c = check(good);
    expect(c.ok).toBe(true);
    if (!c.ok) return;
    expect(c.event).toMatchObject({ index: 3, idempotencyKey: 'k1', metric: 'tokens', quantity: 5, at: NOW, properties: null });
    expect(c.event.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['not an object', 'x', /JSON object/],
    ['an array', [good], /JSON object/],
    ['null', null, /JSON object/],
    ['an unknown field', { ...good, extra: 1 }, /unknown field: extra/],
    ['no idempotencyKey', { metric: 'tokens', quantity: 1 }, /idempotencyKey/],
    ['an empty idempotencyKey', { ...good, idempotencyKey: '' }, /idempotencyKey/],
    ['a 256-character idempotencyKey', { ...good, idempotencyKey: 'x'.repeat(256) }, /idempotencyKey/],
    ['a numeric idempotencyKey', { ...good, idempotencyKey: 7 }, /idempotencyKey/],
    ['a lone surrogate in the key', { ...good, idempotencyKey: 'a\ud800b' }, /valid Unicode/],
    ['an uppercase metric', { ...good, metric: 'Tokens' }, /metric/],
    ['a metric starting with a digit', { ...good, metric: '1x' }, /metric/],
    ['a 65-character metric', { ...good, metric: 'a'.repeat(65) }, /metric/],
    ['quantity 0', { ...good, quantity: 0 }, /quantity/],
    ['a negative quantity', { ...good, quantity: -1 }, /quantity/],
    ['a fractional quantity', { ...good, quantity: 1.5 }, /integer/],
    ['a quantity over 1e9', { ...good, quantity: 1_000_000_001 }, /quantity/],
    ['a string quantity', { ...good, quantity: '5' }, /quantity/],
    ['Infinity as quantity', { ...good, quantity: Infinity }, /quantity/],
    ['a date without time zone', { ...good, timestamp: '2026-03-10T12:00:00' }, /time zone/],
    ['a date that does not exist', { ...good, timestamp: '2026-02-30T12:00:00Z' }, /ISO-8601/],
    ['a numeric timestamp', { ...good, timestamp: NOW }, /ISO-8601/],
    ['a timestamp 6 minutes ahead', { ...good, timestamp: '2026-03-10T12:06:00.000Z' }, /future/],
    ['a timestamp before the backfill window', { ...good, timestamp: '2026-02-03T11:59:59.999Z' }, /35 days/],
    ['array properties', { ...good, properties: [1] }, /JSON object/],
    ['string properties', { ...good, properties: 'x' }, /JSON object/],
    ['properties over 4 KiB', { ...good, properties: { x: 'y'.repeat(MAX_PROPERTIES_BYTES) } }, /4096 bytes/],
  ])('rejects %s', (_, raw, message) => {
    const c = check(raw);
    expect(c.ok).toBe(false);
    if (c.ok) return;
    expect(c.rejection.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(c.rejection.index).toBe(3);
    expect(c.rejection.message).toMatch(message);
  });

  it.each([
    ['a 255-character key', { ...good, idempotencyKey: 'x'.repeat(255) }],
    ['255 astral characters', { ...good, idempotencyKey: '😀'.repeat(255) }],
    ['quantity 1e9', { ...good, quantity: 1_000_000_000 }],
    ['a timestamp exactly 5 minutes ahead', { ...good, timestamp: '2026-03-10T12:05:00.000Z' }],
    ['a timestamp at the start of the backfill window', { ...good, timestamp: '2026-02-03T12:00:00.000Z' }],
    ['an offset timestamp', { ...good, timestamp: '2026-03-10T13:00:00+01:00' }],
    ['null timestamp and properties', { ...good, timestamp: null, properties: null }],
    ['a 64-character dotted metric', { ...good, metric: 'a' + 'b.c-d_1'.repeat(9) }],
  ])('accepts %s', (_, raw) => {
    expect(problem(raw)).toBeNull();
  });

  it('echoes the idempotency key of a rejected event when it is a string', () => {
    const c = check({ ...good, quantity: 0 });
    expect(!c.ok && c.rejection.idempotencyKey).toBe('k1');
    const d = check({ ...good, idempotencyKey: 5 });
    expect(!d.ok && d.rejection.idempotencyKey).toBeNull();
  });

  describe('fingerprint', () => {
    const fp = (raw: unknown, now = NOW) => {
      const c = checkEvent(raw, 0, now, 35);
      if (!c.ok) throw new Error(c.rejection.message);
      return c.event.fingerprint;
    };

    it('is the same for the same content, whatever the key order of properties', () => {
      expect(fp({ ...good, properties: { a: 1, b: { c: 2, d: 3 } } })).toBe(fp({ properties: { b: { d: 3, c: 2 }, a: 1 }, ...good }));
    });

    it('covers the timestamp as sent, so a resend without timestamp matches later', () => {
      expect(fp(good, NOW)).toBe(fp(good, NOW + 60_000));
      expect(fp({ ...good, timestamp: '2026-03-10T12:00:00Z' })).toBe(fp({ ...good, timestamp: '2026-03-10T13:00:00.000+01:00' }));
      expect(fp({ ...good, timestamp: '2026-03-10T12:00:00.000Z' })).not.toBe(fp(good));
    });

    it('differs when any of metric, quantity, timestamp or properties differs, but not with the key', () => {
      const base = fp({ ...good, timestamp: '2026-03-10T12:00:00.000Z', properties: { a: 1 } });
      expect(fp({ ...good, metric: 'other', timestamp: '2026-03-10T12:00:00.000Z', properties: { a: 1 } })).not.toBe(base);
      expect(fp({ ...good, quantity: 6, timestamp: '2026-03-10T12:00:00.000Z', properties: { a: 1 } })).not.toBe(base);
      expect(fp({ ...good, timestamp: '2026-03-10T12:00:00.001Z', properties: { a: 1 } })).not.toBe(base);
      expect(fp({ ...good, timestamp: '2026-03-10T12:00:00.000Z', properties: { a: 2 } })).not.toBe(base);
      expect(fp({ ...good, idempotencyKey: 'other', timestamp: '2026-03-10T12:00:00.000Z', properties: { a: 1 } })).toBe(base);
    });
  });
});
