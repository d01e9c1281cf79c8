import { randomBase62 } from '../auth/key-format';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * Public ids like `cons_01JD5X…`: a millisecond timestamp in 10 Crockford base32 characters, then 14
 * random base62 characters. Ids sort by creation time, which makes them good pagination cursors.
 */
export function newId(prefix: string, now = Date.now()): string {
  let t = '';
  let v = now;
  for (let i = 0; i < 10; i++) {
    t = CROCKFORD[v % 32] + t;
    v = Math.floor(v / 32);
  }
  return `${prefix}_${t}${randomBase62(14)}`;
}
