import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import type { AuditEntry } from '../audit/audit-entry.entity';
import { AuditService } from '../audit/audit.service';
import { invoiceOf } from '../billing/billing.service';
import { Invoice } from '../billing/invoice.entity';
import { newId } from '../common/ids';
import { dialectOf } from '../database/dialect';
import { sqlTime, toDate } from '../database/sql';
import { EventEnvelope, EventType, MAX_BODY_BYTES, OutboxEvent, subscribes } from './webhook-events';

type Row = Record<string, unknown>;

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : toDate(v).toISOString());
const json = <T>(v: unknown, fallback: T): T => {
  if (v === null || v === undefined) return fallback;
  if (typeof v !== 'string') return v as T;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
};

/** The key as events describe it: never its hash or plaintext. */
export function keySummary(r: Row): Record<string, unknown> {
  return {
    id: r.id,
    kind: r.kind,
    consumerId: r.consumer_id ?? null,
    name: r.name,
    environment: r.environment,
    start: r.start,
    scopes: json<string[]>(r.scopes, []),
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    createdAt: iso(r.created_at),
  };
}

const KEY_COLUMNS = 'id, kind, consumer_id, name, environment, start, scopes, expires_at, revoked_at, created_at';

/** Audit actions that are events: the audit entry's transaction is the change's transaction. */
const AUDIT_EVENTS: Record<string, EventType[]> = {
  'key.create': ['key.created'],
  'key.rotate': ['key.rotated'],
  'key.revoke': ['key.revoked'],
  'key.leak': ['key.revoked', 'key.leaked'],
  'consumer.create': ['consumer.created'],
  'consumer.suspend': ['consumer.suspended'],
  'consumer.resume': ['consumer.resumed'],
  'billing_period.close': ['invoice.closed'],
  'billing_period.close_batch': ['invoice.closed'],
  'webhook_endpoint.disable': ['webhook.endpoint_disabled'],
};

/**
 * The webhook outbox. Events are written with the change that caused them: most through the audit log,
 * whose entry is recorded in that change's transaction (so the services that make changes do not know
 * webhooks exist), the rest (hot-path alerts, expiry notices) in batches by WebhookAlerts. Each event gets
 * one delivery row per enabled endpoint subscribed to its type; events nobody subscribes to are not kept.
 */
@Injectable()
export class WebhookOutbox implements OnModuleInit {
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly audit: AuditService) {}

  onModuleInit(): void {
    this.audit.onRecord((m, entry) => this.fromAudit(m, entry));
  }

  /** Called after events were written (the transaction may still be committing). */
  onWritten(listener: () => void): void {
    this.listeners.push(listener);
  }

  async fromAudit(m: EntityManager, entry: AuditEntry): Promise<void> {
    let types = AUDIT_EVENTS[entry.action];
    if (!types) return;
    const endpoints = await this.endpoints(m);
    if (entry.action === 'key.leak' && !entry.after?.newlyRevoked) types = ['key.leaked'];
    types = types.filter((t) => endpoints.some((e) => subscribes(e.events, t)));
    if (types.length === 0) return;
    const events: OutboxEvent[] = [];
    const after = (entry.after ?? {}) as Row;
    switch (entry.action) {
      case 'key.create':
      case 'key.revoke':
      case 'key.leak': {
        const [key] = await m.query(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id = ?`, [entry.targetId]);
        if (!key) return;
        for (const type of types) {
          if (type === 'key.created') events.push({ type, data: { key: keySummary(key) } });
          if (type === 'key.revoked') events.push({ type, data: { key: keySummary(key), reason: entry.action === 'key.leak' ? 'leaked' : 'revoked' } });
          if (type === 'key.leaked') {
            events.push({
              type,
              data: { key: keySummary(key), source: after.source ?? null, alreadyRevoked: !after.newlyRevoked, reportedAt: entry.at.toISOString() },
            });
          }
        }
        break;
      }
      case 'key.rotate': {
        const rows: Row[] = await m.query(`SELECT ${KEY_COLUMNS} FROM api_keys WHERE id IN (?, ?)`, [entry.targetId, after.newKeyId]);
        const old = rows.find((r) => r.id === entry.targetId);
        const fresh = rows.find((r) => r.id === after.newKeyId);
        if (!old || !fresh) return;
        events.push({ type: 'key.rotated', data: { key: keySummary(old), newKey: keySummary(fresh), gracePeriodSeconds: Number(after.gracePeriodSeconds ?? 0) } });
        break;
      }
      case 'consumer.create':
      case 'consumer.suspend':
      case 'consumer.resume': {
        const [c] = await m.query('SELECT id, name, external_id, status, plan_id, metadata, created_at FROM consumers WHERE id = ?', [entry.targetId]);
        if (!c) return;
        const consumer = {
          id: c.id,
          name: c.name,
          externalId: c.external_id ?? null,
          status: c.status,
          planId: c.plan_id ?? null,
          metadata: json(c.metadata, {}),
          createdAt: iso(c.created_at),
        };
        events.push({ type: types[0], data: { consumer } });
        break;
      }
      case 'billing_period.close':
      case 'billing_period.close_batch': {
        const periodIds = entry.action === 'billing_period.close' ? [entry.targetId] : ((after.periodIds as string[]) ?? []);
        if (periodIds.length === 0) return;
        const invoices = await m.find(Invoice, { where: { periodId: In(periodIds as string[]) } });
        for (const inv of invoices) events.push({ type: 'invoice.closed', data: { invoice: invoiceOf(inv) } });
        break;
      }
      case 'webhook_endpoint.disable':
        events.push({ type: 'webhook.endpoint_disabled', data: after });
        break;
    }
    await this.write(m, events, endpoints);
  }

  /** Writes events and their deliveries in the caller's transaction. Returns the events actually written. */
  async write(m: EntityManager, events: OutboxEvent[], known?: Array<{ id: string; events: string[] }>): Promise<string[]> {
    if (events.length === 0) return [];
    const endpoints = known ?? (await this.endpoints(m));
    const now = new Date();
    const rows: Array<{ id: string; type: string; dedupeKey: string | null; payload: string; targets: string[] }> = [];
    for (const e of events) {
      const targets = e.endpointId ? [e.endpointId] : endpoints.filter((ep) => subscribes(ep.events, e.type)).map((ep) => ep.id);
      if (targets.length === 0) continue;
      const id = newId('evt', now.getTime());
      rows.push({ id, type: e.type, dedupeKey: e.dedupeKey ?? null, payload: JSON.stringify(boundedData(id, e, now)), targets });
    }
    if (rows.length === 0) return [];
    // An occurrence another instance (or an earlier pass) already wrote keeps its row.
    const ignore = dialectOf(m).insertIgnoreTail(['dedupe_key']);
    const createdAt = sqlTime(now);
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      await m.query(
        `INSERT INTO webhook_events (id, type, dedupe_key, payload, created_at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}${ignore}`,
        chunk.flatMap((r) => [r.id, r.type, r.dedupeKey, r.payload, createdAt]),
      );
    }
    let written = rows;
    if (rows.some((r) => r.dedupeKey !== null)) {
      const present = new Set<string>();
      for (let i = 0; i < rows.length; i += 500) {
        const ids = rows.slice(i, i + 500).map((r) => r.id);
        const found: Array<{ id: string }> = await m.query(`SELECT id FROM webhook_events WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
        for (const f of found) present.add(f.id);
      }
      written = rows.filter((r) => present.has(r.id));
    }
    const deliveries = written.flatMap((r) => r.targets.map((endpointId) => [newId('whd', now.getTime()), r.id, endpointId, r.type]));
    for (let i = 0; i < deliveries.length; i += 200) {
      const chunk = deliveries.slice(i, i + 200);
      await m.query(
        `INSERT INTO webhook_deliveries (id, event_id, endpoint_id, event_type, status, attempts, next_attempt_at, created_at, updated_at) VALUES ${chunk
          .map(() => `(?, ?, ?, ?, 'pending', 0, ?, ?, ?)`)
          .join(', ')}`,
        chunk.flatMap((d) => [...d, createdAt, createdAt, createdAt]),
      );
    }
    if (deliveries.length > 0) for (const l of this.listeners) l();
    return written.map((r) => r.id);
  }

  async endpoints(m: EntityManager): Promise<Array<{ id: string; events: string[] }>> {
    const rows: Array<{ id: string; events: string }> = await m.query('SELECT id, events FROM webhook_endpoints WHERE enabled = 1');
    return rows.map((r) => ({ id: r.id, events: json<string[]>(r.events, []) }));
  }
}

/** The stored envelope; data over the body limit is replaced by a notice that names the subject. */
function boundedData(id: string, e: OutboxEvent, now: Date): EventEnvelope {
  const envelope: EventEnvelope = { id, type: e.type, createdAt: now.toISOString(), data: e.data };
  if (Buffer.byteLength(JSON.stringify(envelope)) <= MAX_BODY_BYTES) return envelope;
  const subject: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e.data)) {
    if (v && typeof v === 'object' && 'id' in (v as Row)) subject[k] = { id: (v as Row).id };
  }
  return { ...envelope, data: { ...subject, truncated: true } };
}
