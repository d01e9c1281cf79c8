import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource, SelectQueryBuilder } from 'typeorm';
import { ReplicaReads } from '../database/replica-reads';
import { sqlTime, toDate, toNumber } from '../database/sql';
import { ApiKey } from '../keys/api-key.entity';
import { sumMetricTotals } from '../usage/usage-metric-totals';
import { REQUESTS_METRIC } from '../usage/usage-recorder.service';
import { KeyListSummaryDto, KeyStatusCountsDto, KeySummaryDto, StatsDto } from './dto/stats.dto';

const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1440;
const LIST_LIMIT = 100;
const TOP_CONSUMERS = 10;

function toSummary(k: ApiKey): KeySummaryDto {
  return {
    id: k.id,
    kind: k.kind,
    consumerId: k.consumerId,
    name: k.name,
    start: k.start,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
  };
}

const emptyStatus = (): KeyStatusCountsDto => ({ active: 0, revoked: 0, expired: 0 });

/** Read-only aggregates for GET /v1/admin/stats; a handful of grouped queries, no per-row work in JS. */
@Injectable()
export class StatsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly replicas: ReplicaReads,
  ) {}

  async overview(now = new Date()): Promise<StatsDto> {
    const [consumers, keys, requests, top, expiring, unused, webhooks] = await Promise.all([
      this.consumerCounts(),
      this.keyCounts(now),
      this.requestCounts(now),
      this.topConsumers(now),
      this.keyList(now, (qb) =>
        qb.andWhere('k.expires_at > :now AND k.expires_at <= :soon', { soon: sqlTime(new Date(now.getTime() + 7 * DAY_MS)) }).orderBy('k.expires_at', 'ASC'),
      ),
      this.keyList(now, (qb) => {
        const cutoff = sqlTime(new Date(now.getTime() - 90 * DAY_MS));
        return qb
          .andWhere(
            new Brackets((w) =>
              w.where('k.last_used_at < :cutoff', { cutoff }).orWhere('k.last_used_at IS NULL AND k.created_at < :cutoff', { cutoff }),
            ),
          )
          .orderBy('COALESCE(k.last_used_at, k.created_at)', 'ASC');
      }),
      this.failingWebhookEndpoints(),
    ]);
    return {
      generatedAt: now.toISOString(),
      consumers,
      keys,
      requestsLast24h: requests,
      topConsumers: top,
      keysExpiringSoon: expiring,
      keysUnused: unused,
      webhookEndpointsFailing: webhooks,
    };
  }

  private async failingWebhookEndpoints(): Promise<StatsDto['webhookEndpointsFailing']> {
    const rows: Array<{ id: string; url: string; enabled: unknown; failing_since: unknown }> = await this.dataSource.query(
      `SELECT id, url, enabled, failing_since FROM webhook_endpoints
        WHERE failing_since IS NOT NULL OR disabled_reason = 'failing' ORDER BY failing_since LIMIT ${LIST_LIMIT}`,
    );
    return rows.map((r) => ({
      id: r.id,
      url: r.url,
      enabled: toNumber(r.enabled) === 1,
      failingSince: r.failing_since === null ? null : toDate(r.failing_since).toISOString(),
    }));
  }

  private async consumerCounts(): Promise<StatsDto['consumers']> {
    const rows: { status: string; n: unknown }[] = await this.replicas.read((m) => m.query('SELECT status, COUNT(*) AS n FROM consumers GROUP BY status'));
    const out = { total: 0, active: 0, suspended: 0 };
    for (const r of rows) {
      const n = toNumber(r.n);
      out.total += n;
      if (r.status === 'active' || r.status === 'suspended') out[r.status] += n;
    }
    return out;
  }

  private async keyCounts(now: Date): Promise<StatsDto['keys']> {
    const rows: { kind: string; status: keyof KeyStatusCountsDto; n: unknown }[] = await this.replicas.read((m) =>
      m.query(
      `SELECT kind,
              CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
                   WHEN expires_at IS NOT NULL AND expires_at <= ? THEN 'expired'
                   ELSE 'active' END AS status,
              COUNT(*) AS n
         FROM api_keys GROUP BY kind, status`,
      [sqlTime(now)],
      ),
    );
    const out = { total: 0, ...emptyStatus(), byKind: { admin: emptyStatus(), secret: emptyStatus(), publishable: emptyStatus() } };
    for (const r of rows) {
      const n = toNumber(r.n);
      out.total += n;
      out[r.status] += n;
      const kind = out.byKind[r.kind as keyof typeof out.byKind];
      if (kind) kind[r.status] += n;
    }
    return out;
  }

  /** The last 1440 minute buckets, the current one included: `[first, end)` in minutes. */
  private window(now: Date): [number, number] {
    const minute = Math.floor(now.getTime() / 60_000);
    return [minute - MINUTES_PER_DAY + 1, minute + 1];
  }

  /** From usage_metric_totals: whole hours and the minutes at either end, a few dozen rows. */
  private async requestCounts(now: Date): Promise<StatsDto['requestsLast24h']> {
    const [first, end] = this.window(now);
    const sums = await sumMetricTotals(this.dataSource, first, end, REQUESTS_METRIC);
    const live = sums.get('live') ?? 0;
    const test = sums.get('test') ?? 0;
    let total = 0;
    for (const q of sums.values()) total += q;
    return { total, live, test };
  }

  /**
   * From usage_daily_totals, through its index by day: today's and yesterday's (UTC) rows of every
   * consumer, two per consumer and environment, never the minute rollups (a day of them may be millions).
   * Summed first and joined to the consumers for the ten only.
   */
  private async topConsumers(now: Date): Promise<StatsDto['topConsumers']> {
    const today = Math.floor(now.getTime() / DAY_MS);
    const rows: { consumer_id: string; name: string | null; external_id: string | null; q: unknown }[] = await this.dataSource.query(
      `SELECT t.consumer_id, c.name, c.external_id, t.q
         FROM (SELECT consumer_id, SUM(quantity) AS q FROM usage_daily_totals
                WHERE day IN (?, ?) AND metric = ?
                GROUP BY consumer_id ORDER BY q DESC, consumer_id ASC LIMIT ${TOP_CONSUMERS}) t
         LEFT JOIN consumers c ON c.id = t.consumer_id
        ORDER BY t.q DESC, t.consumer_id ASC`,
      [today - 1, today, REQUESTS_METRIC],
    );
    return rows.map((r) => ({ consumerId: r.consumer_id, name: r.name ?? null, externalId: r.external_id ?? null, requests: toNumber(r.q) }));
  }

  /** Active keys (not revoked, not expired) narrowed by `where`; the count and the first 100. */
  private async keyList(now: Date, where: (qb: SelectQueryBuilder<ApiKey>) => SelectQueryBuilder<ApiKey>): Promise<KeyListSummaryDto> {
    const qb = this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .where('k.revoked_at IS NULL')
      .andWhere('(k.expires_at IS NULL OR k.expires_at > :now)', { now: sqlTime(now) });
    const [rows, count] = await where(qb).addOrderBy('k.id', 'ASC').take(LIST_LIMIT).getManyAndCount();
    return { count, keys: rows.map(toSummary) };
  }
}
