import { toDate } from '../database/sql';
import { canonicalJson, GENESIS_HASH, sha256 } from './canonical';

/** One audit row exactly as stored (raw column values, before any entity transformer). */
export interface StoredAuditRow {
  seq: number;
  id: string;
  actorKeyId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: string | null;
  after: string | null;
  ip: string | null;
  requestId: string | null;
  at: unknown;
  prevHash: string;
  hash: string;
  canonical: string;
}

/** What AuditService.record hashes; `at` is an ISO-8601 string. */
export interface AuditFields {
  id: string;
  actorKeyId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  ip: string | null;
  requestId: string | null;
  at: string;
  prevHash: string;
}

/** The canonical text of an entry and its link in the chain: sha256(prevHash + canonical). */
export function seal(fields: AuditFields): { canonical: string; hash: string } {
  const canonical = canonicalJson(fields);
  return { canonical, hash: sha256(fields.prevHash + canonical) };
}

export interface ChainBreak {
  id: string | null;
  seq: number;
  reason: string;
}

/** The fields written into the canonical text by AuditService.record, in the order they are checked. */
const TEXT_FIELDS = ['id', 'actorKeyId', 'action', 'targetType', 'targetId', 'ip', 'requestId', 'prevHash'] as const;
const JSON_FIELDS = ['before', 'after'] as const;

function parseJson(text: string | null): { ok: true; value: unknown } | { ok: false } {
  if (text === null) return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * Walks the chain in seq order, one row at a time, so that a log of any size is checked in bounded
 * memory. Each entry must link to the previous entry's hash, its hash must be sha256(prevHash +
 * canonical), and every stored column must still say what the hashed canonical text says.
 */
export class ChainVerifier {
  private expectedPrev = GENESIS_HASH;
  private last: { id: string | null; seq: number } | null = null;
  checked = 0;

  /** `from`: continue after an entry already verified (its seq, and the hash the check computed for it). */
  constructor(from?: { seq: number; hash: string }) {
    if (!from) return;
    this.expectedPrev = from.hash;
    this.last = { id: null, seq: from.seq };
    this.checked = from.seq;
  }

  get lastHash(): string {
    return this.expectedPrev;
  }

  /** Returns the problem with this row, or null if it continues the chain correctly. */
  check(row: StoredAuditRow): ChainBreak | null {
    const at = (reason: string): ChainBreak => ({ id: row.id, seq: Number(row.seq), reason });
    if (row.prevHash !== this.expectedPrev) {
      return at(
        this.last
          ? `prevHash does not match the hash of the entry before it (seq ${this.last.seq}${this.last.id === null ? ', as checked by the previous page' : ''}): that entry was altered or entries between them were deleted`
          : 'prevHash is not the start of the chain: earlier entries were deleted',
      );
    }
    if (sha256(row.prevHash + row.canonical) !== row.hash) return at('hash does not match sha256(prevHash + canonical): the canonical text or the hash was altered');
    const parsed = parseJson(row.canonical);
    if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object') return at('canonical is not a JSON object');
    const fields = parsed.value as Record<string, unknown>;
    for (const name of TEXT_FIELDS) {
      if ((row[name] ?? null) !== (fields[name] ?? null)) return at(`stored ${name} differs from the hashed canonical text`);
    }
    for (const name of JSON_FIELDS) {
      const stored = parseJson(row[name]);
      if (!stored.ok || canonicalJson(stored.value) !== canonicalJson(fields[name] ?? null)) {
        return at(`stored ${name} differs from the hashed canonical text`);
      }
    }
    const storedAt = row.at === null || row.at === undefined ? null : toDate(row.at);
    if (!storedAt || Number.isNaN(storedAt.getTime()) || storedAt.toISOString() !== fields.at) {
      return at('stored at differs from the hashed canonical text');
    }
    this.expectedPrev = row.hash;
    this.last = { id: row.id, seq: Number(row.seq) };
    this.checked++;
    return null;
  }

  /** After the last row: the head row must point at the last entry and count every entry. */
  checkHead(head: { seq: number; hash: string }): ChainBreak | null {
    if (head.hash === this.expectedPrev && head.seq === this.checked) return null;
    const reason =
      head.hash === this.expectedPrev
        ? `the chain head counts ${head.seq} entries but ${this.checked} were found`
        : 'the chain head does not point at the last entry: entries after this one were deleted, or the head was altered';
    return { id: this.last?.id ?? null, seq: this.last?.seq ?? 0, reason };
  }
}
