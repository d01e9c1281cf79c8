import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';

export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

export class ListPeriodsQueryDto extends PageQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(40)
  consumerId?: string;

  @IsOptional()
  @IsIn(['open', 'closed'])
  status?: 'open' | 'closed';

  /** Periods that start in this UTC month, YYYY-MM. */
  @ApiPropertyOptional({ pattern: MONTH_PATTERN.source })
  @IsOptional()
  @Matches(MONTH_PATTERN, { message: 'must be a month as YYYY-MM' })
  period?: string;
}

export class ExportQueryDto {
  /** Periods that start in this UTC month, YYYY-MM. @example "2026-11" */
  @ApiProperty({ pattern: MONTH_PATTERN.source })
  @Matches(MONTH_PATTERN, { message: 'must be a month as YYYY-MM' })
  period: string;

  /** `csv` (default, with a header row), `json` (one array) or `ndjson` (one object per line). @example "csv" */
  @IsOptional()
  @IsIn(['csv', 'json', 'ndjson'])
  format?: 'csv' | 'json' | 'ndjson';

  /** Only this consumer. @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  consumerId?: string;
}
