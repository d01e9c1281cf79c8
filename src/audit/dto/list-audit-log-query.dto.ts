import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { ISO_DATE_TIME } from '../../common/validators';
import { ApiDateTime, ApiInt } from '../../common/api-schema';

export class ListAuditLogQueryDto extends PageQueryDto {
  /** Only changes made by this key. */
  @IsOptional()
  @IsString()
  @MaxLength(40)
  actorKeyId?: string;

  /** `consumer`, `key`, `plan`, `billing_period`, … */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  targetType?: string;

  @IsOptional()
  @IsString()
  @MaxLength(40)
  targetId?: string;

  /** Exact action, e.g. `key.revoke`. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  /** Entries at or after this time (ISO-8601). */
  @IsOptional()
  @Matches(ISO_DATE_TIME, { message: 'must be an ISO-8601 date-time with a time zone' })
  @ApiDateTime()
  from?: string;

  /** Entries before this time (ISO-8601, exclusive). */
  @IsOptional()
  @Matches(ISO_DATE_TIME, { message: 'must be an ISO-8601 date-time with a time zone' })
  @ApiDateTime()
  to?: string;
}

/** Entries one chain check request verifies at most (a few hundred milliseconds of hashing). */
export const MAX_VERIFY_ENTRIES = 10_000;

export class VerifyAuditLogQueryDto {
  /** Entries to check in this request, 1-10000. @example 10000 */
  @ApiInt({ required: false, minimum: 1, maximum: MAX_VERIFY_ENTRIES, default: MAX_VERIFY_ENTRIES })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_VERIFY_ENTRIES)
  limit?: number = MAX_VERIFY_ENTRIES;

  /** The `nextCursor` of the previous answer: continue the check where it stopped. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
