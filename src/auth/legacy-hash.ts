import { createHash, createHmac } from 'node:crypto';
import { KEY_PATTERN, parseKey, RANDOM_LENGTH, CHECKSUM_LENGTH } from './key-format';

/** The hashes an old system may have kept of its keys; `plaintext` imports are stored as Tollgate's own. */
export const LEGACY_SCHEMES = ['sha256', 'sha512', 'hmac-sha256', 'bcrypt'] as const;
export type LegacyScheme = (typeof LEGACY_SCHEMES)[number];

/**
 * Keys not in Tollgate's format have no checksum to refuse them early. Under this length they are refused
 * anyway: such a key carries under 96 bits even when random, and refusing it keeps short garbage off the
 * database.
 */
export const MIN_FOREIGN_KEY_LENGTH = 16;

/** A bcrypt key is found by its first characters (its `start`), from 8 to 32 of them. */
export const BCRYPT_START_MIN = 8;
export const BCRYPT_START_MAX = 32;
/** bcrypt costs above this would make a key's first use take seconds of CPU. */
export const BCRYPT_MAX_COST = 12;
export const BCRYPT_PATTERN = /^\$2[abxy]?\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/**
 * Whether a key has Tollgate's shape (`prefix_env_` and enough letters and digits): such a key is judged by
 * its checksum, and a wrong one is refused without a lookup, imported or not.
 */
export function hasTollgateShape(key: string): boolean {
  const m = KEY_PATTERN.exec(key);
  return m !== null && m[3].length >= RANDOM_LENGTH + CHECKSUM_LENGTH;
}

/**
 * A key not in Tollgate's format that may still be an imported one: long enough, printable ASCII with no
 * spaces. A key of Tollgate's shape with a bad checksum is not (see hasTollgateShape).
 */
export function mayBeForeignKey(key: string): boolean {
  return key.length >= MIN_FOREIGN_KEY_LENGTH && !hasTollgateShape(key) && /^[\x21-\x7e]+$/.test(key);
}

/** Why an imported plaintext key could never verify here, or null. */
export function plaintextKeyProblem(key: string, maxLength: number): string | null {
  if (key.length > maxLength) return `is longer than ${maxLength} characters`;
  if (parseKey(key)) return null;
  if (hasTollgateShape(key)) return "has Tollgate's shape but not its checksum, so it would be refused before any lookup";
  if (!mayBeForeignKey(key)) return `must be at least ${MIN_FOREIGN_KEY_LENGTH} printable ASCII characters without spaces`;
  return null;
}

/**
 * What the `hash` column holds for a key stored under an old scheme: SHA-256 over the scheme and the old
 * hash (or, for bcrypt, the key's start). It lives in Tollgate's unique hash column, so a lookup is one
 * indexed read and a duplicate is refused by the index, and it can never equal an HMAC Tollgate stores.
 */
export function legacyLookup(scheme: LegacyScheme, value: string): string {
  return createHash('sha256').update(`${scheme}:${value}`).digest('hex');
}

/** An old hash as given at import (hex or base64) as lowercase hex, or null if it is neither or has the wrong length. */
export function normalizeDigest(value: string, bytes: number): string | null {
  if (/^[0-9a-fA-F]+$/.test(value) && value.length === bytes * 2) return value.toLowerCase();
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    const buf = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (buf.length === bytes) return buf.toString('hex');
  }
  return null;
}

export interface ImportSecret {
  /** The secret's fingerprint (see secretId): what the lookups of keys imported with it name. */
  id: string;
  secret: string;
}

/** A secret is named by a fingerprint, so that importing with the same secret twice keeps one row. */
export function secretId(secret: string): string {
  return 'hs_' + createHash('sha256').update(`key-import-secret:${secret}`).digest('hex').slice(0, 32);
}

export function hmacLookupValue(secretIdValue: string, hexDigest: string): string {
  return `${secretIdValue}:${hexDigest}`;
}

/**
 * Every lookup under which a presented key may be stored by an import, computed from the key itself:
 * its SHA-256 and SHA-512, its HMAC under each secret given at import, and its bcrypt starts.
 */
export function lookupsOf(plaintext: string, secrets: readonly ImportSecret[]): string[] {
  const out = [
    legacyLookup('sha256', createHash('sha256').update(plaintext).digest('hex')),
    legacyLookup('sha512', createHash('sha512').update(plaintext).digest('hex')),
  ];
  for (const s of secrets) {
    const digest = createHmac('sha256', s.secret).update(plaintext).digest('hex');
    out.push(legacyLookup('hmac-sha256', hmacLookupValue(s.id, digest)));
  }
  for (let n = BCRYPT_START_MIN; n <= Math.min(BCRYPT_START_MAX, plaintext.length - 1); n++) {
    out.push(legacyLookup('bcrypt', plaintext.slice(0, n)));
  }
  return out;
}
