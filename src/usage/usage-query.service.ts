import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException } from '../common/app.exception';
import { Consumer } from '../consumers/consumer.entity';
import { UsageReportDto } from './dto/usage-query.dto';
import { readMetricTotals } from './usage-metric-totals';
import { AggregateRow, buildReport, Granularity, GroupBy, MAX_POINTS, minuteRange, parseRange } from './usage-query';
import { consumersWithUsage, readRollups } from './usage-scans';

export interface UsageQuery {
  from: string;
  to: string;
  granularity?: Granularity;
  metric?: string;
  groupBy?: GroupBy;
}

/**
 * Reads usage. One consumer's usage, and usage across consumers grouped by consumer or key, is read from
 * the per-minute rollups (keyed by consumer first), aggregated in SQL with integer arithmetic on the bucket
 * (`bucket - bucket % 60` is the hour on both databases). Usage of all consumers by metric is read from
 * usage_metric_totals, kept per bucket beside the rollups. Flushed counts only: buffered request counts
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
    const { first, end } = minuteRange(from, to);

    let rows: AggregateRow[];
    let maxRows: number;
    if (consumerId === undefined && groupBy === 'metric') {
      maxRows = MAX_POINTS + 1;
      rows = await readMetricTotals(this.dataSource, first, end, granularity, query.metric, maxRows);
    } else {
      // Months are folded from days, up to 31 rows per point.
      maxRows = (granularity === 'month' ? MAX_POINTS * 31 : MAX_POINTS) + 1;
      const consumers = consumerId === undefined ? await consumersWithUsage(this.dataSource, first, end, query.metric) : [consumerId];
      const columns = ['metric'];
      if (groupBy === 'key') columns.push('key_id');
      if (groupBy === 'consumer' || (groupBy === 'key' && withConsumerOfKey)) columns.push('consumer_id');
      rows = consumers.length ? await readRollups(this.dataSource, { consumers, first, end, granularity, columns, metric: query.metric, maxRows }) : [];
    }
    const report = rows.length < maxRows ? buildReport(rows, granularity, MAX_POINTS, query.metric) : null;
    if (!report) {
      throw AppException.validation(
        [{ field: 'granularity', message: `the answer would have more than ${MAX_POINTS} points` }],
        `The answer would have more than ${MAX_POINTS} points: narrow the range, use a coarser granularity, filter by metric, or group by metric`,
      );
    }
    return report;
  }
}
