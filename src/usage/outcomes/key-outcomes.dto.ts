import { ApiInt } from '../../common/api-schema';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ISO_DATE_TIME } from '../../common/validators';
import { UsagePointDto } from '../dto/usage-query.dto';
import { GRANULARITIES, Granularity } from '../usage-query';
import { KEY_OUTCOMES, KeyOutcome } from './key-outcome';

const ISO_MESSAGE = 'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-01T00:00:00.000Z';

export class KeyOutcomesQueryDto {
  /** Start of the range, inclusive (UTC buckets). @example "2026-01-01T00:00:00.000Z" */
  @Matches(ISO_DATE_TIME, { message: ISO_MESSAGE })
  from: string;

  /** End of the range, exclusive. @example "2026-01-02T00:00:00.000Z" */
  @Matches(ISO_DATE_TIME, { message: ISO_MESSAGE })
  to: string;

  @ApiPropertyOptional({
    enum: GRANULARITIES,
    default: 'hour',
    description: 'UTC buckets. Widest range: minute 24 hours, hour 31 days, day 366 days, month 10 years.',
  })
  @IsOptional()
  @IsIn(GRANULARITIES)
  granularity?: Granularity;

  @ApiPropertyOptional({ enum: ['outcome', 'key'], default: 'outcome', description: 'One series per outcome, or per outcome and key.' })
  @IsOptional()
  @IsIn(['outcome', 'key'])
  groupBy?: 'outcome' | 'key';

  /** Only the keys of this consumer. @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  consumerId?: string;

  /** Only this key. @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  keyId?: string;
}

export class KeyOutcomeSeriesDto {
  @ApiProperty({
    enum: KEY_OUTCOMES,
    enumName: 'KeyOutcome',
    example: 'VALID',
    description: '`VALID`: admitted by every guard (the `requests` usage metric); otherwise the error code the request was refused with.',
  })
  outcome: KeyOutcome;
  /** With groupBy=key. @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  keyId?: string;
  /** Buckets with requests, oldest first; buckets without any are left out. */
  points: UsagePointDto[];
}

export class KeyOutcomeTotalDto {
  @ApiProperty({ enum: KEY_OUTCOMES, enumName: 'KeyOutcome', example: 'RATE_LIMIT_EXCEEDED' })
  outcome: KeyOutcome;
  /** @example 42 */
  @ApiInt()
  quantity: number;
}

export class KeyOutcomesReportDto {
  @ApiProperty({ enum: GRANULARITIES, example: 'hour' })
  granularity: Granularity;
  series: KeyOutcomeSeriesDto[];
  /** Per outcome, over the whole range. */
  totals: KeyOutcomeTotalDto[];
}
