import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { KeyHasher } from '../auth/key-hasher';
import { AppException } from '../common/app.exception';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { sqlTime, toNumber } from '../database/sql';
import { AuditEntry } from './audit-entry.entity';
import { ChainBreak, ChainVerifier, StoredAuditRow } from './audit-chain';
import { AuditEntryDto } from './dto/audit-entry.dto';
import { AuditVerificationDto } from './dto/audit-verification.dto';
import { ListAuditLogQueryDto, MAX_VERIFY_ENTRIES, VerifyAuditLogQueryDto } from './dto/list-audit-log-query.dto';

export function toAuditEntryDto(e: AuditEntry): AuditEntryDto {
  return {
    seq: Number(e.seq),
    id: e.id,
    actorKeyId: e.actorKeyId,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    before: e.before,
    after: e.after,
    ip: e.ip,
    requestId: e.requestId,
    at: e.at.toISOString(),
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/** Rows read per query while verifying: bounded memory whatever the size of the log. */
const VERIFY_BATCH = 500;

/**
 * Where a page of the chain check stopped — the last entry's seq and the hash the check computed for it —
 * signed with HMAC-SHA256 under a key derived from the server's KEY_HASH_SECRET (each of its versions
 * verifies). The next page trusts this hash instead of recomputing the chain before it, so a cursor the
 * server did not issue (one that would skip altered entries) must be refused, not merely well-formed.
 */
export class ChainCursors {
  private readonly keys: Buffer[];

  constructor(hasher: KeyHasher) {
    this.keys = hasher.secrets.map((s) => createHmac('sha256', s.secret).update('tollgate audit chain cursor v1').digest());
  }

  encode(seq: number, hash: string): string {
    const body = `${seq}.${hash}`;
    return Buffer.from(`${body}.${this.mac(this.keys[0], body)}`, 'utf8').toString('base64url');
  }

  decode(cursor: string | undefined): { seq: number; hash: string } | undefined {
    if (!cursor) return undefined;
    const m = /^((\d{1,15})\.([0-9a-f]{64}))\.([0-9a-f]{64})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    const given = m ? Buffer.from(m[4], 'hex') : null;
    if (!m || !given || !this.keys.some((k) => timingSafeEqual(Buffer.from(this.mac(k, m[1]), 'hex'), given))) {
      throw AppException.validation([{ field: 'cursor', message: 'is not a cursor returned by this API' }]);
    }
    return { seq: Number(m[2]), hash: m[3] };
  }

  private mac(key: Buffer, body: string): string {
    return createHmac('sha256', key).update(body).digest('hex');
  }
}

/**
 * Reads the audit log. Nothing here writes: entries are appended only by AuditService.record, inside the
 * transaction of the change they describe, and no route changes or deletes them.
 */
@Injectable()
export class AuditLogService {
  private readonly cursors: ChainCursors;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    hasher: KeyHasher,
  ) {
    this.cursors = new ChainCursors(hasher);
  }

  /** Newest first, in chain order (seq), which is the order the changes were committed in. */
  async list(query: ListAuditLogQueryDto): Promise<Page<AuditEntryDto>> {
    const limit = query.limit ?? 20;
    const from = query.from ? new Date(query.from) : undefined;
    const to = query.to ? new Date(query.to) : undefined;
    if (from && to && from.getTime() >= to.getTime()) {
      throw AppException.validation([{ field: 'to', message: 'must be after from' }]);
    }
    const qb = this.dataSource.getRepository(AuditEntry).createQueryBuilder('e').orderBy('e.seq', 'DESC').take(limit + 1);
    if (query.actorKeyId) qb.andWhere('e.actor_key_id = :actor', { actor: query.actorKeyId });
    if (query.targetType) qb.andWhere('e.target_type = :targetType', { targetType: query.targetType });
    if (query.targetId) qb.andWhere('e.target_id = :targetId', { targetId: query.targetId });
    if (query.action) qb.andWhere('e.action = :action', { action: query.action });
    if (from) qb.andWhere('e.at >= :from', { from: sqlTime(from) });
    if (to) qb.andWhere('e.at < :to', { to: sqlTime(to) });
    const cursorId = decodeCursor(query.cursor);
    if (cursorId) {
      const [row] = await this.dataSource.query('SELECT seq FROM audit_entries WHERE id = ?', [cursorId]);
      if (!row) throw AppException.validation([{ field: 'cursor', message: 'is not a cursor returned by this API' }]);
      qb.andWhere('e.seq < :seq', { seq: toNumber(row.seq) });
    }
    return toPage(await qb.getMany(), limit, toAuditEntryDto);
  }

  /**
   * Walks the chain in seq order, a batch at a time, for at most `limit` entries per request; a longer log
   * is checked page by page, each page continuing from the seq and hash where the previous one stopped
   * (carried in the cursor, so that a page trusts what the previous page computed, not what the table
   * says now). On the page that reaches the end, entries appended while the walk ran are picked up
   * before the head is compared, so a busy log still verifies.
   */
  async verify(query: VerifyAuditLogQueryDto = {}): Promise<AuditVerificationDto> {
    const from = this.cursors.decode(query.cursor);
    const limit = query.limit ?? MAX_VERIFY_ENTRIES;
    const verifier = new ChainVerifier(from);
    let afterSeq = from?.seq ?? 0;
    let checkedHere = 0;
    let problem: ChainBreak | null = null;
    let more = false;
    walk: for (;;) {
      const want = Math.min(VERIFY_BATCH, limit - checkedHere);
      if (want > 0) {
        const rows = await this.batch(afterSeq, want);
        for (const row of rows) {
          problem = verifier.check(row);
          if (problem) break walk;
          afterSeq = row.seq;
          checkedHere++;
        }
        if (rows.length === want) continue;
      } else if ((await this.batch(afterSeq, 1)).length > 0) {
        more = true;
        break;
      }
      const [head] = await this.dataSource.query('SELECT seq, hash FROM audit_head WHERE id = 1');
      const headState = { seq: toNumber(head?.seq), hash: String(head?.hash ?? '') };
      problem = verifier.checkHead(headState);
      // The head moved on while we read: there are newer entries to check first.
      if (problem && headState.seq > verifier.checked && (await this.batch(afterSeq, 1)).length > 0) {
        problem = null;
        continue;
      }
      break;
    }
    return {
      valid: problem === null,
      checked: verifier.checked,
      firstInvalid: problem,
      headHash: verifier.lastHash,
      nextCursor: more ? this.cursors.encode(afterSeq, verifier.lastHash) : null,
    };
  }

  private async batch(afterSeq: number, limit = VERIFY_BATCH): Promise<StoredAuditRow[]> {
    const raw: Record<string, unknown>[] = await this.dataSource
      .getRepository(AuditEntry)
      .createQueryBuilder('e')
      .select([
        'e.seq AS c_seq',
        'e.id AS c_id',
        'e.actor_key_id AS c_actorKeyId',
        'e.action AS c_action',
        'e.target_type AS c_targetType',
        'e.target_id AS c_targetId',
        'e.before AS c_before',
        'e.after AS c_after',
        'e.ip AS c_ip',
        'e.request_id AS c_requestId',
        'e.at AS c_at',
        'e.prev_hash AS c_prevHash',
        'e.hash AS c_hash',
        'e.canonical AS c_canonical',
      ])
      .where('e.seq > :afterSeq', { afterSeq })
      .orderBy('e.seq', 'ASC')
      .limit(limit)
      .getRawMany();
    // Aliases are prefixed: BEFORE is a reserved word in MySQL.
    return raw.map((r) => ({
      seq: toNumber(r.c_seq),
      id: String(r.c_id),
      actorKeyId: (r.c_actorKeyId as string | null) ?? null,
      action: String(r.c_action),
      targetType: String(r.c_targetType),
      targetId: (r.c_targetId as string | null) ?? null,
      before: (r.c_before as string | null) ?? null,
      after: (r.c_after as string | null) ?? null,
      ip: (r.c_ip as string | null) ?? null,
      requestId: (r.c_requestId as string | null) ?? null,
      at: r.c_at,
      prevHash: String(r.c_prevHash),
      hash: String(r.c_hash),
      canonical: String(r.c_canonical),
    }));
  }
}
