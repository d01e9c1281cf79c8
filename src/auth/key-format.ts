import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 32 base62 characters carry 190.5 bits. */
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;
/** No key this server issues is longer; anything longer is refused before any other work. */
export const MAX_KEY_LENGTH = 128;
export type KeyEnvironment = 'live' | 'test';

export const KEY_PATTERN = /^([a-z][a-z0-9]{0,15})_(live|test)_([0-9A-Za-z]+)$/;

/** Unbiased base62 from crypto.randomBytes: bytes >= 248 are dropped (248 = 4 × 62). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function base62(n: number, width: number): string {
  let out = '';
  let v = n;
  while (v > 0) {
    out = ALPHABET[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out.padStart(width, '0');
}

/** CRC32 of everything before the checksum, as 6 base62 characters (62^6 > 2^32). */
export function checksum(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

export interface GeneratedKey {
  key: string;
  start: string;
}

export function generateKey(prefix: string, environment: KeyEnvironment): GeneratedKey {
  const random = randomBase62(RANDOM_LENGTH);
  const body = `${prefix}_${environment}_${random}`;
  return { key: body + checksum(body), start: `${prefix}_${environment}_${random.slice(0, 4)}` };
}

export interface ParsedKey {
  prefix: string;
  environment: KeyEnvironment;
}

/**
 * Checks the shape and the checksum without touching storage; null means "not a key we could have issued".
 * Any well-formed prefix is accepted so that keys survive a change of KEY_PREFIX.
 */
export function parseKey(key: string): ParsedKey | null {
  if (key.length > MAX_KEY_LENGTH) return null;
  const m = KEY_PATTERN.exec(key);
  if (!m || m[3].length < RANDOM_LENGTH + CHECKSUM_LENGTH) return null;
  const body = key.slice(0, key.length - CHECKSUM_LENGTH);
  if (checksum(body) !== key.slice(-CHECKSUM_LENGTH)) return null;
  return { prefix: m[1], environment: m[2] as KeyEnvironment };
}

export function startOf(key: string): string {
  const m = KEY_PATTERN.exec(key);
  if (!m) return key.slice(0, 12);
  return `${m[1]}_${m[2]}_${m[3].slice(0, 4)}`;
}
