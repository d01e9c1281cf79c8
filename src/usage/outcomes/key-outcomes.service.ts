import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException } from '../../common/app.exception';
import { Consumer } from '../../consumers/consumer.entity';
import { toNumber } from '../../database/sql';
import { ApiKey } from '../../keys/api-key.entity';
import { AggregateRow, buildReport, MAX_POINTS, minuteRange, parseRange, SQL_BUCKET_MINUTES } from '../usage-query';
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
    if (query.keyId !== undefined) {
      const key = await this.dataSource.getRepository(ApiKey).findOne({ where: { id: query.keyId }, select: { id: true, consumerId: true } });
      // A key of another consumer than the one asked for is not found, as everywhere else.
      if (!key || (query.consumerId !== undefined && key.consumerId !== query.consumerId)) throw AppException.notFound('Key');
    }

    const size = SQL_BUCKET_MINUTES[granularity];
    const bucket = size === 1 ? 'bucket' : `(bucket - bucket % ${size})`;
    const { first, end } = minuteRange(from, to);
    const maxRows = (granularity === 'month' ? MAX_POINTS * 31 : MAX_POINTS) + 1;
    const keyColumn = byKey ? 'key_id, ' : '';

    const valid = { where: ['metric = ?', 'bucket >= ?', 'bucket < ?'], params: [REQUESTS_METRIC, first, end] as unknown[] };
    const refused = { where: ['bucket >= ?', 'bucket < ?'], params: [first, end] as unknown[] };
    if (query.keyId !== undefined) {
      valid.where.push('key_id = ?');
      valid.params.push(query.keyId);
      refused.where.push('key_id = ?');
      refused.params.push(query.keyId);
    }
    if (query.consumerId !== undefined) {
      valid.where.push('consumer_id = ?');
      valid.params.push(query.consumerId);
      refused.where.push('key_id IN (SELECT id FROM api_keys WHERE consumer_id = ?)');
      refused.params.push(query.consumerId);
    }
    const [validRows, refusedRows]: Record<string, unknown>[][] = await Promise.all([
      this.dataSource.query(
        `SELECT ${keyColumn}${bucket} AS b, SUM(quantity) AS q FROM usage_rollups WHERE ${valid.where.join(' AND ')} ` +
          `GROUP BY ${keyColumn}${bucket} ORDER BY ${keyColumn}b LIMIT ${maxRows}`,
        valid.params,
      ),
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
    const rows = [...validRows.map((r) => toAggregate(r, 'VALID')), ...refusedRows.map((r) => toAggregate(r, String(r.outcome)))];
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
}

function asOutcome(value: string): KeyOutcome {
  const found = KEY_OUTCOMES.find((o) => o === value);
  if (!found) throw new Error(`unknown key outcome ${value}`);
  return found;
}
