import { isIP } from 'node:net';
import { normalizeIp } from '../auth/ip-matcher';

/** How far a key reaches: until when (ms since the epoch, null: for ever) and from where (empty: anywhere). */
export interface Reach {
  expiresAt: number | null;
  allowedIps: readonly string[];
}

interface Range {
  v6: boolean;
  lo: bigint;
  hi: bigint;
}

function v4Value(addr: string): bigint | null {
  const parts = addr.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function v6Value(addr: string): bigint | null {
  let s = addr.split('%')[0];
  const last = s.lastIndexOf(':');
  const tail = s.slice(last + 1);
  if (tail.includes('.')) {
    const v4 = v4Value(tail);
    if (v4 === null) return null;
    s = `${s.slice(0, last + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...rest];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The addresses an allowlist entry covers, as one interval; null for an entry that cannot be read. */
function rangeOf(rule: string): Range | null {
  const [raw, bits, ...extra] = rule.split('/');
  if (extra.length) return null;
  const addr = normalizeIp(raw);
  const family = isIP(addr);
  if (!family) return null;
  const v6 = family === 6;
  const width = v6 ? 128 : 32;
  const prefix = bits === undefined ? width : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) return null;
  const value = v6 ? v6Value(addr) : v4Value(addr);
  if (value === null) return null;
  const hostBits = BigInt(width - prefix);
  const lo = (value >> hostBits) << hostBits;
  return { v6, lo, hi: lo + (1n << hostBits) - 1n };
}

/**
 * Whether every address `inner` allows, `outer` allows too (an empty list allows every address). Ranges are
 * compared by family as the allowlist matches them; an entry that cannot be read is never within anything.
 * Adjacent or overlapping outer ranges count together, so `10.0.0.0/9` and `10.128.0.0/9` hold `10.0.0.0/8`.
 */
export function ipRangesWithin(inner: readonly string[], outer: readonly string[]): boolean {
  if (outer.length === 0) return true;
  if (inner.length === 0) return false;
  const merged: Range[] = [];
  const outerRanges = outer
    .map(rangeOf)
    .filter((r): r is Range => r !== null)
    .sort((a, b) => (a.v6 !== b.v6 ? (a.v6 ? 1 : -1) : a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  for (const r of outerRanges) {
    const top = merged[merged.length - 1];
    if (top && top.v6 === r.v6 && r.lo <= top.hi + 1n) top.hi = r.hi > top.hi ? r.hi : top.hi;
    else merged.push({ ...r });
  }
  return inner.every((rule) => {
    const r = rangeOf(rule);
    return r !== null && merged.some((m) => m.v6 === r.v6 && m.lo <= r.lo && r.hi <= m.hi);
  });
}

/**
 * Why a key of reach `key` is beyond the reach of the key `caller` that creates, rotates or changes it, or
 * null when it is not. Only the named dimensions are compared: a change judges what it changes.
 */
export function reachProblem(key: Reach, caller: Reach, dimensions: { expiry: boolean; ips: boolean } = { expiry: true, ips: true }): string | null {
  if (dimensions.expiry && caller.expiresAt !== null && (key.expiresAt === null || key.expiresAt > caller.expiresAt)) {
    return 'A key cannot obtain or make a key that outlives it';
  }
  if (dimensions.ips && !ipRangesWithin(key.allowedIps, caller.allowedIps)) {
    return 'A key bound to IP addresses cannot obtain or make a key usable from addresses outside its own ranges';
  }
  return null;
}
