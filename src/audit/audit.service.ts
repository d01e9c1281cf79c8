import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { newId } from '../common/ids';
import { dialectOf } from '../database/dialect';
import { Actor } from './actor';
import { AuditEntry } from './audit-entry.entity';
import { AuditFields, seal } from './audit-chain';
import { canonicalJson, redact } from './canonical';

/** Runs inside the transaction of every recorded change, after its entry is written (webhook outbox). */
export type AuditHook = (manager: EntityManager, entry: AuditEntry) => Promise<void>;

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/**
 * Appends to the hash-chained audit log inside the caller's transaction. The head row is locked for
 * the rest of that transaction, so appends are serialized and the chain cannot fork.
 */
@Injectable()
export class AuditService {
  private readonly hooks: AuditHook[] = [];

  onRecord(hook: AuditHook): void {
    this.hooks.push(hook);
  }

  async record(manager: EntityManager, actor: Actor, rec: AuditRecord): Promise<AuditEntry> {
    const [head] = await manager.query(`SELECT seq, hash FROM audit_head WHERE id = 1${dialectOf(manager).forUpdate()}`);
    const prevHash: string = head.hash;
    const at = new Date();
    const fields: AuditFields = {
      id: newId('aud', at.getTime()),
      actorKeyId: actor.keyId,
      action: rec.action,
      targetType: rec.targetType,
      targetId: rec.targetId,
      before: toPlain(redact(rec.before ?? null)),
      after: toPlain(redact(rec.after ?? null)),
      ip: actor.ip,
      requestId: actor.requestId,
      at: at.toISOString(),
      prevHash,
    };
    const { canonical, hash } = seal(fields);
    const entry = manager.create(AuditEntry, { ...fields, at, canonical, hash });
    await manager.insert(AuditEntry, entry);
    await manager.query('UPDATE audit_head SET seq = seq + 1, hash = ? WHERE id = 1', [hash]);
    for (const hook of this.hooks) await hook(manager, entry);
    return entry;
  }
}

function toPlain(value: Record<string, unknown> | null): Record<string, unknown> | null {
  return value ? (JSON.parse(canonicalJson(value)) as Record<string, unknown>) : null;
}
