import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ISO_DATE_TIME } from '../../common/validators';
import { GRANULARITIES, Granularity } from '../usage-query';
import { METRIC_NAME } from '../usage-event';
import { ApiDateTime, ApiInt } from '../../common/api-schema';

const ISO_MESSAGE = 'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-01T00:00:00.000Z';

class UsageRangeQueryDto {
  /** Start of the range, inclusive (UTC buckets). @example "2026-01-01T00:00:00.000Z" */
  @Matches(ISO_DATE_TIME, { message: ISO_MESSAGE })
  @ApiDateTime()
  from: string;

  /** End of the range, exclusive. @example "2026-02-01T00:00:00.000Z" */
  @Matches(ISO_DATE_TIME, { message: ISO_MESSAGE })
  @ApiDateTime()
  to: string;

  @ApiPropertyOptional({
    enum: GRANULARITIES,
    default: 'day',
    description: 'UTC buckets. Widest range: minute 24 hours, hour 31 days, day 366 days, month 10 years.',
  })
  @IsOptional()
  @IsIn(GRANULARITIES)
  granularity?: Granularity;

  /** Only this metric. @example "requests" */
  @IsOptional()
  @Matches(METRIC_NAME, { message: 'must be a metric name' })
  metric?: string;
}

export class UsageQueryDto extends UsageRangeQueryDto {
  @ApiPropertyOptional({ enum: ['metric', 'key'], default: 'metric', description: 'One series per metric, or per metric and key.' })
  @IsOptional()
  @IsIn(['metric', 'key'])
  groupBy?: 'metric' | 'key';
}

export class AdminUsageQueryDto extends UsageRangeQueryDto {
  @ApiPropertyOptional({
    enum: ['metric', 'key', 'consumer'],
    default: 'metric',
    description: 'One series per metric, per metric and key, or per metric and consumer.',
  })
  @IsOptional()
  @IsIn(['metric', 'key', 'consumer'])
  groupBy?: 'metric' | 'key' | 'consumer';

  /** Only this consumer's usage. @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  consumerId?: string;
}

export class UsagePointDto {
  /** Start of the UTC bucket. @example "2026-01-01T00:00:00.000Z" */
  @ApiDateTime()
  start: string;
  /** @example 1520 */
  @ApiInt()
  quantity: number;
}

export class UsageSeriesDto {
  /** @example "requests" */
  metric: string;
  /** With groupBy=key. @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  keyId?: string;
  /** With groupBy=consumer, and groupBy=key on the admin route. @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId?: string;
  /** Buckets with usage, oldest first; buckets without usage are left out. */
  points: UsagePointDto[];
}

export class UsageTotalDto {
  /** @example "requests" */
  metric: string;
  /** @example 45210 */
  @ApiInt()
  quantity: number;
}

export class UsageReportDto {
  @ApiProperty({ enum: GRANULARITIES, example: 'day' })
  granularity: Granularity;
  series: UsageSeriesDto[];
  /** Per metric, over the whole range. */
  totals: UsageTotalDto[];
}
