import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException } from '../../common/app.exception';
import { Consumer } from '../../consumers/consumer.entity';
import { toNumber } from '../../database/sql';
import { ApiKey } from '../../keys/api-key.entity';
import { readMetricTotals } from '../usage-metric-totals';
import { AggregateRow, buildReport, MAX_POINTS, minuteRange, parseRange, SQL_BUCKET_MINUTES } from '../usage-query';
import { consumersWithUsage, readRollups } from '../usage-scans';
import { REQUESTS_METRIC } from '../usage-recorder.service';
import { KEY_OUTCOMES, KeyOutcome } from './key-outcome';
import { KeyOutcomesQueryDto, KeyOutcomesReportDto } from './key-outcomes.dto';

/**
 * A key's traffic split by outcome: `VALID` is what every guard admitted (the `requests` usage metric,
 * from usage_rollups), the rest what was refused with that key (key_outcomes). Both are per-minute
 * counters written about once per flush interval.
 */
@Injectable()
export class KeyOutcomesService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async report(query: KeyOutcomesQueryDto): Promise<KeyOutcomesReportDto> {
    const granularity = query.granularity ?? 'hour';
    const byKey = query.groupBy === 'key';
    const { from, to } = parseRange(query.from, query.to, granularity);
    if (query.consumerId !== undefined && !(await this.dataSource.getRepository(Consumer).existsBy({ id: query.consumerId }))) {
      throw AppException.notFound('Consumer');
    }
    let keyConsumerId: string | null | undefined;
    if (query.keyId !== undefined) {
      const key = await this.dataSource.getRepository(ApiKey).findOne({ where: { id: query.keyId }, select: { id: true, consumerId: true } });
      // A key of another consumer than the one asked for is not found, as everywhere else.
      if (!key || (query.consumerId !== undefined && key.consumerId !== query.consumerId)) throw AppException.notFound('Key');
      keyConsumerId = key.consumerId;
    }

    const size = SQL_BUCKET_MINUTES[granularity];
    const bucket = size === 1 ? 'bucket' : `(bucket - bucket % ${size})`;
    const { first, end } = minuteRange(from, to);
    const maxRows = (granularity === 'month' ? MAX_POINTS * 31 : MAX_POINTS) + 1;
    const keyColumn = byKey ? 'key_id, ' : '';

    const refused = { where: ['bucket >= ?', 'bucket < ?'], params: [first, end] as unknown[] };
    if (query.keyId !== undefined) {
      refused.where.push('key_id = ?');
      refused.params.push(query.keyId);
    }
    if (query.consumerId !== undefined) {
      refused.where.push('key_id IN (SELECT id FROM api_keys WHERE consumer_id = ?)');
      refused.params.push(query.consumerId);
    }
    const [validRows, refusedRows]: [AggregateRow[], Record<string, unknown>[]] = await Promise.all([
      this.validRows(query, keyConsumerId, first, end, byKey, maxRows),
      this.dataSource.query(
        `SELECT outcome, ${keyColumn}${bucket} AS b, SUM(quantity) AS q FROM key_outcomes WHERE ${refused.where.join(' AND ')} ` +
          `GROUP BY outcome, ${keyColumn}${bucket} ORDER BY outcome, ${keyColumn}b LIMIT ${maxRows}`,
        refused.params,
      ),
    ]);
    const toAggregate = (r: Record<string, unknown>, outcome: string): AggregateRow => ({
      metric: outcome,
      keyId: byKey ? String(r.key_id) : undefined,
      bucket: toNumber(r.b),
      quantity: toNumber(r.q),
    });
    const rows = [...validRows.map((r) => ({ ...r, metric: 'VALID' })), ...refusedRows.map((r) => toAggregate(r, String(r.outcome)))];
    const report = validRows.length < maxRows && refusedRows.length < maxRows ? buildReport(rows, granularity) : null;
    if (!report) {
      throw AppException.validation(
        [{ field: 'granularity', message: `the answer would have more than ${MAX_POINTS} points` }],
        `The answer would have more than ${MAX_POINTS} points: narrow the range, use a coarser granularity, or filter by key`,
      );
    }
    return {
      granularity: report.granularity,
      series: report.series.map((s) => ({ outcome: asOutcome(s.metric), ...(s.keyId !== undefined ? { keyId: s.keyId } : {}), points: s.points })),
      totals: report.totals.map((t) => ({ outcome: asOutcome(t.metric), quantity: t.quantity })),
    };
  }

  /**
   * `VALID`: the `requests` usage metric. The rollups are keyed by consumer first, so a key's or a
   * consumer's requests are one key range (bounded by the stored rows it holds); all keys' requests come
   * from usage_metric_totals, and all keys' requests per key from the rollups of the consumers with
   * requests in the range.
   */
  private async validRows(
    query: KeyOutcomesQueryDto,
    keyConsumerId: string | null | undefined,
    first: number,
    end: number,
    byKey: boolean,
    maxRows: number,
  ): Promise<AggregateRow[]> {
    const granularity = query.granularity ?? 'hour';
    // Admin keys belong to no consumer and are not metered.
    if (keyConsumerId === null) return [];
    const consumerId = query.consumerId ?? keyConsumerId;
    if (consumerId === undefined && !byKey) return readMetricTotals(this.dataSource, first, end, granularity, REQUESTS_METRIC, maxRows);
    const consumers = consumerId !== undefined ? [consumerId] : await consumersWithUsage(this.dataSource, first, end, REQUESTS_METRIC);
    if (consumers.length === 0) return [];
    const columns = byKey ? ['metric', 'key_id'] : ['metric'];
    return readRollups(this.dataSource, { consumers, first, end, granularity, columns, metric: REQUESTS_METRIC, keyId: query.keyId, maxRows });
  }

}

function asOutcome(value: string): KeyOutcome {
  const found = KEY_OUTCOMES.find((o) => o === value);
  if (!found) throw new Error(`unknown key outcome ${value}`);
  return found;
}
