import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException } from '../common/app.exception';
import { Consumer } from '../consumers/consumer.entity';
import { toNumber } from '../database/sql';
import { UsageReportDto } from './dto/usage-query.dto';
import { AggregateRow, buildReport, Granularity, GroupBy, MAX_POINTS, MAX_ROWS_READ, minuteRange, parseRange, SQL_BUCKET_MINUTES } from './usage-query';

export interface UsageQuery {
  from: string;
  to: string;
  granularity?: Granularity;
  metric?: string;
  groupBy?: GroupBy;
}

/**
 * Reads usage from the per-minute rollups, aggregated in SQL with integer arithmetic on the bucket
 * (`bucket - bucket % 60` is the hour on both databases). Flushed counts only: buffered request counts
 * appear within about one flush interval.
 */
@Injectable()
export class UsageQueryService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async assertConsumer(id: string): Promise<void> {
    if (!(await this.dataSource.getRepository(Consumer).existsBy({ id }))) throw AppException.notFound('Consumer');
  }

  /** `consumerId` undefined means every consumer (admin only). `withConsumerOfKey` adds consumerId to key series. */
  async report(query: UsageQuery, consumerId: string | undefined, withConsumerOfKey = false): Promise<UsageReportDto> {
    const granularity = query.granularity ?? 'day';
    const groupBy = query.groupBy ?? 'metric';
    const { from, to } = parseRange(query.from, query.to, granularity);

    const size = SQL_BUCKET_MINUTES[granularity];
    const bucket = size === 1 ? 'bucket' : `(bucket - bucket % ${size})`;
    const columns = ['metric'];
    if (groupBy === 'key') columns.push('key_id');
    if (groupBy === 'consumer' || (groupBy === 'key' && withConsumerOfKey)) columns.push('consumer_id');
    const { first, end } = minuteRange(from, to);
    const where = ['bucket >= ?', 'bucket < ?'];
    const params: unknown[] = [first, end];
    if (consumerId !== undefined) {
      where.unshift('consumer_id = ?');
      params.unshift(consumerId);
    }
    if (query.metric) {
      where.push('metric = ?');
      params.push(query.metric);
    }
    await this.refuseLargeScans(where.join(' AND '), params);
    // Months are folded from days, up to 31 rows per point.
    const maxRows = (granularity === 'month' ? MAX_POINTS * 31 : MAX_POINTS) + 1;
    const rows: Record<string, unknown>[] = await this.dataSource.query(
      `SELECT ${columns.join(', ')}, ${bucket} AS b, SUM(quantity) AS q FROM usage_rollups WHERE ${where.join(' AND ')} ` +
        `GROUP BY ${columns.join(', ')}, ${bucket} ORDER BY ${columns.join(', ')}, b LIMIT ${maxRows}`,
      params,
    );
    const aggregates: AggregateRow[] = rows.map((r) => ({
      metric: String(r.metric),
      keyId: columns.includes('key_id') ? String(r.key_id) : undefined,
      consumerId: columns.includes('consumer_id') ? String(r.consumer_id) : undefined,
      bucket: toNumber(r.b),
      quantity: toNumber(r.q),
    }));
    const report = rows.length < maxRows ? buildReport(aggregates, granularity, MAX_POINTS, query.metric) : null;
    if (!report) {
      throw AppException.validation(
        [{ field: 'granularity', message: `the answer would have more than ${MAX_POINTS} points` }],
        `The answer would have more than ${MAX_POINTS} points: narrow the range, use a coarser granularity, filter by metric, or group by metric`,
      );
    }
    return report;
  }

  /**
   * Bounds the work of one answer by the stored rows it reads, not by its range alone: the density of
   * rollups varies (a month of one consumer may be 100 rows or millions). Counting stops one row past
   * the bound (an OFFSET probe, which neither sorts nor materializes), over the same index range the
   * aggregate reads (the primary key with a consumer, the bucket index without), so the check reads at
   * most that many index entries.
   */
  private async refuseLargeScans(where: string, params: unknown[]): Promise<void> {
    const beyond = await this.dataSource.query(`SELECT 1 AS x FROM usage_rollups WHERE ${where} LIMIT 1 OFFSET ${MAX_ROWS_READ}`, params);
    if (beyond.length > 0) {
      throw AppException.validation(
        [{ field: 'to', message: `the range holds more than ${MAX_ROWS_READ} stored usage rows` }],
        `The range holds more than ${MAX_ROWS_READ} stored usage rows: narrow it, filter by metric, or name a consumer`,
      );
    }
  }
}
