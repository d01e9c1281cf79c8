import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Actor, SYSTEM_ACTOR } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { newId } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { webhooksConfig } from '../config/settings';
import { sqlTime, toDate, toNumber } from '../database/sql';
import { dialectOf } from '../database/dialect';
import { Transactions } from '../database/transactions';
import { CreateWebhookEndpointDto } from './dto/create-webhook-endpoint.dto';
import { UpdateWebhookEndpointDto } from './dto/update-webhook-endpoint.dto';
import { ListWebhookDeliveriesQueryDto, WebhookAttemptDto, WebhookDeliveryDto } from './dto/webhook-delivery.dto';
import { CreatedWebhookEndpointDto, ListWebhookEndpointsQueryDto, WebhookEndpointDto } from './dto/webhook-endpoint.dto';
import type { WebhookEventDto } from './dto/webhook-event.dto';
import { addedEvents, canReadEventData, missingToSubscribe, resourceIdsOf } from './event-scopes';
import { newSecret } from './signing';
import { resolvesPublicly, urlProblem } from './target-guard';
import { WebhookOutbox } from './webhook-outbox.service';

type Row = Record<string, unknown>;

/** After a rotation the previous secret keeps signing for this long, so receivers can switch without a gap. */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;

const ENDPOINT_COLUMNS =
  'id, url, description, events, enabled, metadata, disabled_reason, failing_since, previous_secret_expires_at, created_at, updated_at';

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : toDate(v).toISOString());
const parse = <T>(v: unknown, fallback: T): T => {
  if (typeof v !== 'string') return (v as T) ?? fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
};

export function toEndpointDto(r: Row, now = new Date()): WebhookEndpointDto {
  const overlapEnd = r.previous_secret_expires_at ? toDate(r.previous_secret_expires_at) : null;
  return {
    id: String(r.id),
    url: String(r.url),
    description: (r.description as string | null) ?? null,
    events: parse<string[]>(r.events, []),
    enabled: toNumber(r.enabled) === 1,
    metadata: parse<Record<string, unknown>>(r.metadata, {}),
    disabledReason: (r.disabled_reason as 'failing' | 'manual' | null) ?? null,
    failingSince: iso(r.failing_since),
    previousSecretExpiresAt: overlapEnd && overlapEnd > now ? overlapEnd.toISOString() : null,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

function toAttemptDto(r: Row): WebhookAttemptDto {
  return {
    attempt: toNumber(r.attempt),
    startedAt: iso(r.started_at)!,
    durationMs: toNumber(r.duration_ms),
    statusCode: r.status_code === null || r.status_code === undefined ? null : toNumber(r.status_code),
    success: toNumber(r.success) === 1,
    error: (r.error as string | null) ?? null,
    responseBody: (r.response_body as string | null) ?? null,
  };
}

/** What the audit log keeps of an endpoint: everything but its secrets. */
function auditable(dto: WebhookEndpointDto): Record<string, unknown> {
  return { ...dto };
}

/** Webhook endpoints and their delivery log. Every change is audited in its own transaction. */
@Injectable()
export class WebhookEndpointsService {
  private readonly allowPrivate: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
    @Inject(webhooksConfig.KEY) webhooks: ConfigType<typeof webhooksConfig>,
  ) {
    this.allowPrivate = webhooks.allowPrivateTargets;
  }

  async create(actor: Actor, dto: CreateWebhookEndpointDto): Promise<CreatedWebhookEndpointDto> {
    checkMayReceive(actor, dto.events);
    await this.checkUrl(dto.url);
    const secret = newSecret();
    const out = await this.tx.run(async (m) => {
      const now = new Date();
      const id = newId('whe', now.getTime());
      const enabled = dto.enabled ?? true;
      await m.query(
        `INSERT INTO webhook_endpoints (id, url, description, events, enabled, metadata, secret, previous_secret, previous_secret_expires_at, failing_since, disabled_reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?)`,
        [
          id,
          dto.url,
          dto.description ?? null,
          JSON.stringify(normalizeEvents(dto.events)),
          enabled ? 1 : 0,
          JSON.stringify(dto.metadata ?? {}),
          secret,
          enabled ? null : 'manual',
          sqlTime(now),
          sqlTime(now),
        ],
      );
      const created = await this.find(m, id);
      await this.audit.record(m, actor, { action: 'webhook_endpoint.create', targetType: 'webhook_endpoint', targetId: id, after: auditable(created) });
      return created;
    });
    return { ...out, secret };
  }

  async list(query: ListWebhookEndpointsQueryDto): Promise<Page<WebhookEndpointDto>> {
    const limit = query.limit ?? 20;
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.enabled) {
      where.push('enabled = ?');
      params.push(query.enabled === 'true' ? 1 : 0);
    }
    const cursor = decodeCursor(query.cursor);
    if (cursor) {
      where.push('id < ?');
      params.push(cursor);
    }
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit + 1}`,
      params,
    );
    const now = new Date();
    return toPage(
      rows.map((r) => ({ ...r, id: String(r.id) })),
      limit,
      (r) => toEndpointDto(r, now),
    );
  }

  get(id: string): Promise<WebhookEndpointDto> {
    return this.find(this.dataSource.manager, id);
  }

  async update(actor: Actor, id: string, dto: UpdateWebhookEndpointDto): Promise<WebhookEndpointDto> {
    if (dto.url !== undefined) await this.checkUrl(dto.url);
    return this.tx.run(async (m) => {
      const before = await this.find(m, id, true);
      // A new URL receives every event the endpoint subscribes to; otherwise only added types are new to anyone.
      if (dto.url !== undefined && dto.url !== before.url) checkMayReceive(actor, dto.events ?? before.events);
      else if (dto.events !== undefined) checkMayReceive(actor, addedEvents(before.events, dto.events));
      const sets: string[] = [];
      const params: unknown[] = [];
      const set = (column: string, value: unknown) => {
        sets.push(`${column} = ?`);
        params.push(value);
      };
      if (dto.url !== undefined) set('url', dto.url);
      if (dto.description !== undefined) set('description', dto.description);
      if (dto.events !== undefined) set('events', JSON.stringify(normalizeEvents(dto.events)));
      if (dto.metadata !== undefined) set('metadata', JSON.stringify(dto.metadata));
      if (dto.enabled !== undefined && dto.enabled !== before.enabled) {
        set('enabled', dto.enabled ? 1 : 0);
        set('disabled_reason', dto.enabled ? null : 'manual');
        // A re-enabled endpoint starts with a clean record; what was pending when it was disabled stays canceled.
        set('failing_since', null);
        if (!dto.enabled) await this.cancelPending(m, id);
      }
      const now = new Date();
      set('updated_at', sqlTime(now));
      await m.query(`UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE id = ?`, [...params, id]);
      const after = await this.find(m, id);
      await this.audit.record(m, actor, {
        action: 'webhook_endpoint.update',
        targetType: 'webhook_endpoint',
        targetId: id,
        before: auditable(before),
        after: auditable(after),
      });
      return after;
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    await this.tx.run(async (m) => {
      const before = await this.find(m, id, true);
      await m.query('DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)', [id]);
      await m.query('DELETE FROM webhook_deliveries WHERE endpoint_id = ?', [id]);
      await m.query('DELETE FROM webhook_endpoints WHERE id = ?', [id]);
      await this.audit.record(m, actor, { action: 'webhook_endpoint.delete', targetType: 'webhook_endpoint', targetId: id, before: auditable(before) });
    });
  }

  /** A new secret, shown once; the previous one keeps signing alongside it for 24 hours. */
  async rotateSecret(actor: Actor, id: string): Promise<CreatedWebhookEndpointDto> {
    const secret = newSecret();
    const out = await this.tx.run(async (m) => {
      await this.find(m, id, true);
      const now = new Date();
      const overlapEnd = new Date(now.getTime() + SECRET_OVERLAP_MS);
      await m.query(
        'UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = ?, secret = ?, updated_at = ? WHERE id = ?',
        [sqlTime(overlapEnd), secret, sqlTime(now), id],
      );
      const after = await this.find(m, id);
      await this.audit.record(m, actor, {
        action: 'webhook_endpoint.rotate_secret',
        targetType: 'webhook_endpoint',
        targetId: id,
        after: { previousSecretExpiresAt: overlapEnd.toISOString() },
      });
      return after;
    });
    return { ...out, secret };
  }

  /** Queues a `webhook.test` event for this endpoint alone and returns its delivery. */
  async test(actor: Actor, id: string): Promise<WebhookDeliveryDto> {
    const deliveryId = await this.tx.run(async (m) => {
      const endpoint = await this.find(m, id, true);
      if (!endpoint.enabled) throw AppException.conflict('This endpoint is disabled; enable it first');
      const [eventId] = await this.outbox.write(m, [
        { type: 'webhook.test', endpointId: id, data: { endpointId: id, message: 'This is a test event from Tollgate.' } },
      ]);
      const [row] = await m.query('SELECT id FROM webhook_deliveries WHERE event_id = ?', [eventId]);
      await this.audit.record(m, actor, { action: 'webhook_endpoint.test', targetType: 'webhook_endpoint', targetId: id, after: { eventId, deliveryId: row.id } });
      return String(row.id);
    });
    return this.getDelivery(actor, deliveryId, id);
  }

  async listDeliveries(actor: Actor, endpointId: string, query: ListWebhookDeliveriesQueryDto): Promise<Page<WebhookDeliveryDto>> {
    await this.find(this.dataSource.manager, endpointId);
    const limit = query.limit ?? 20;
    const where = ['d.endpoint_id = ?'];
    const params: unknown[] = [endpointId];
    if (query.status) {
      where.push('d.status = ?');
      params.push(query.status);
    }
    if (query.eventType) {
      where.push('d.event_type = ?');
      params.push(query.eventType);
    }
    const cursor = decodeCursor(query.cursor);
    if (cursor) {
      where.push('d.id < ?');
      params.push(cursor);
    }
    const rows = await this.deliveries(actor, `${where.join(' AND ')} ORDER BY d.id DESC LIMIT ${limit + 1}`, params);
    return toPage(rows, limit, (d) => d);
  }

  /** A delivery of this endpoint; another endpoint's delivery is not found. */
  async getDelivery(actor: Actor, id: string, endpointId: string): Promise<WebhookDeliveryDto> {
    const [row] = await this.deliveries(actor, 'd.id = ? AND d.endpoint_id = ?', [id, endpointId]);
    if (!row) throw AppException.notFound('Webhook delivery');
    return row;
  }

  /** Attempts a delivery again now, whatever its state; a delivery being attempted right now is a conflict. */
  async retry(actor: Actor, endpointId: string, id: string): Promise<WebhookDeliveryDto> {
    await this.tx.run(async (m) => {
      const [row] = await m.query(
        `SELECT d.id, d.status, d.claim_token, d.next_attempt_at, p.enabled FROM webhook_deliveries d LEFT JOIN webhook_endpoints p ON p.id = d.endpoint_id WHERE d.id = ? AND d.endpoint_id = ?${dialectOf(m).forUpdate()}`,
        [id, endpointId],
      );
      if (!row) throw AppException.notFound('Webhook delivery');
      if (toNumber(row.enabled) !== 1) throw AppException.conflict('The endpoint of this delivery is disabled; enable it first');
      if (row.claim_token && toDate(row.next_attempt_at) > new Date()) throw AppException.conflict('This delivery is being attempted right now');
      const now = new Date();
      await m.query(`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, claim_token = NULL, updated_at = ? WHERE id = ?`, [
        sqlTime(now),
        sqlTime(now),
        id,
      ]);
      await this.audit.record(m, actor, {
        action: 'webhook_delivery.retry',
        targetType: 'webhook_delivery',
        targetId: id,
        before: { status: row.status },
        after: { status: 'pending' },
      });
    });
    return this.getDelivery(actor, id, endpointId);
  }

  /**
   * Disables an endpoint that has failed since before `cutoff` without a success; the audit entry becomes
   * the `webhook.endpoint_disabled` event. Returns false if another instance did it first.
   */
  async disableForFailures(id: string, cutoff: Date): Promise<boolean> {
    return this.tx.run(async (m) => {
      const [row] = await m.query(
        `SELECT id, url, description, enabled, failing_since FROM webhook_endpoints WHERE id = ?${dialectOf(m).forUpdate()}`,
        [id],
      );
      if (!row || toNumber(row.enabled) !== 1 || !row.failing_since || toDate(row.failing_since) > cutoff) return false;
      const now = new Date();
      await m.query(`UPDATE webhook_endpoints SET enabled = 0, disabled_reason = 'failing', updated_at = ? WHERE id = ?`, [sqlTime(now), id]);
      await this.cancelPending(m, id);
      await this.audit.record(m, SYSTEM_ACTOR, {
        action: 'webhook_endpoint.disable',
        targetType: 'webhook_endpoint',
        targetId: id,
        before: { enabled: true },
        after: {
          endpoint: { id: row.id, url: row.url, description: row.description ?? null },
          reason: 'failing',
          failingSince: toDate(row.failing_since).toISOString(),
        },
      });
      return true;
    });
  }

  private async cancelPending(m: EntityManager, endpointId: string): Promise<void> {
    await m.query(`UPDATE webhook_deliveries SET status = 'canceled', updated_at = ? WHERE endpoint_id = ? AND status = 'pending'`, [
      sqlTime(new Date()),
      endpointId,
    ]);
  }

  /**
   * Deliveries as `actor` may see them: an event whose data needs a read scope the actor lacks is shown
   * with its id, type and time and the ids of the resources it is about, its `data` withheld (null).
   */
  private async deliveries(actor: Actor, where: string, params: unknown[]): Promise<WebhookDeliveryDto[]> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_attempt_at, d.last_error, d.created_at, e.payload
         FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE ${where}`,
      params,
    );
    if (rows.length === 0) return [];
    const ids = rows.map((r) => String(r.id));
    const attempts: Row[] = await this.dataSource.query(
      `SELECT delivery_id, attempt, started_at, duration_ms, status_code, success, error, response_body FROM webhook_attempts WHERE delivery_id IN (${ids
        .map(() => '?')
        .join(', ')}) ORDER BY started_at, attempt`,
      ids,
    );
    const byDelivery = new Map<string, WebhookAttemptDto[]>();
    for (const a of attempts) {
      const list = byDelivery.get(String(a.delivery_id)) ?? [];
      list.push(toAttemptDto(a));
      byDelivery.set(String(a.delivery_id), list);
    }
    return rows.map((r) => {
      const event = parse<WebhookEventDto>(r.payload, { id: String(r.event_id), type: String(r.event_type), createdAt: iso(r.created_at)!, data: {} });
      const readable = canReadEventData(actor.scopes, String(r.event_type));
      return {
      id: String(r.id),
      endpointId: String(r.endpoint_id),
      eventId: String(r.event_id),
      eventType: String(r.event_type),
      status: r.status as WebhookDeliveryDto['status'],
      attempts: toNumber(r.attempts),
      nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
      lastStatusCode: r.last_status_code === null || r.last_status_code === undefined ? null : toNumber(r.last_status_code),
      lastAttemptAt: iso(r.last_attempt_at),
      lastError: (r.last_error as string | null) ?? null,
      createdAt: iso(r.created_at)!,
      attemptLog: byDelivery.get(String(r.id)) ?? [],
      resourceIds: resourceIdsOf(event.data),
      event: readable ? event : { id: event.id, type: event.type, createdAt: event.createdAt, data: null },
      };
    });
  }

  private async find(m: EntityManager, id: string, forUpdate = false): Promise<WebhookEndpointDto> {
    const lock = forUpdate ? dialectOf(m).forUpdate() : '';
    const [row] = await m.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?${lock}`, [id]);
    if (!row) throw AppException.notFound('Webhook endpoint');
    return toEndpointDto(row);
  }

  private async checkUrl(url: string): Promise<void> {
    const problem = urlProblem(url, this.allowPrivate) ?? (this.allowPrivate ? null : await resolvesPublicly(url));
    if (problem) throw AppException.validation([{ field: 'url', message: problem }]);
  }
}

/** Subscribing to an event type needs the read scope of its resource (event-scopes.ts). */
function checkMayReceive(actor: Actor, events: readonly string[]): void {
  const missing = missingToSubscribe(actor.scopes, events);
  if (missing.length) {
    throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `Subscribing to these events needs the scope to read them: missing ${missing.join(', ')}`);
  }
}

/** `*` stands alone; duplicates go. */
function normalizeEvents(events: string[]): string[] {
  return events.includes('*') ? ['*'] : [...new Set(events)];
}
