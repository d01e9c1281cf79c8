import { createHash } from 'node:crypto';
import { maskKeys } from '../common/mask-keys';

/** JSON with object keys sorted at every level, so that the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The chain starts from this value: the prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Fields that never enter the audit log, whatever the entity. */
const SECRET_FIELDS = new Set(['hash', 'hashVersion', 'key', 'secret', 'plaintext']);

/** Drops secret fields at the top level and masks key-shaped strings at every level. */
export function redact(value: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!value) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!SECRET_FIELDS.has(k)) out[k] = scrub(v);
  return out;
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return maskKeys(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[maskKeys(k)] = scrub(v);
    return out;
  }
  return value;
}
