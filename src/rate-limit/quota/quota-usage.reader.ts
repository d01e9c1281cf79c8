import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { toNumber } from '../../database/sql';

const MINUTE_MS = 60_000;

/**
 * What a consumer has used of a metric in a period, as recorded in the usage roll-ups. Seeds a quota
 * counter the first time it is used (after a start, or when Redis lost it), so that counters survive
 * restarts. Live and test usage both count: a quota caps what a consumer may make the service do.
 */
@Injectable()
export class QuotaUsageReader {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Units of `metric` used by the consumer in the minute buckets of `[startMs, endMs)`. */
  async used(consumerId: string, metric: string, startMs: number, endMs: number): Promise<number> {
    const rows: Array<{ used: unknown }> = await this.dataSource.query(
      'SELECT COALESCE(SUM(quantity), 0) AS used FROM usage_rollups WHERE consumer_id = ? AND metric = ? AND bucket >= ? AND bucket < ?',
      [consumerId, metric, Math.floor(startMs / MINUTE_MS), Math.ceil(endMs / MINUTE_MS)],
    );
    return toNumber(rows[0]?.used);
  }
}
