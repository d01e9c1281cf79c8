import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { IsJsonObject, IsOmittable, NullIsEmpty } from '../../common/validators';
import { ApiInt } from '../../common/api-schema';

export class CreateConsumerDto {
  /** @example "Acme Corp" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  /** Your own id for this consumer; unique across consumers; `null`: none. @example "acct_4421" */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  externalId?: string | null;

  /** Free-form JSON object, at most 8 KiB; `null` = `{}`. @example {"tier":"gold"} */
  @IsOmittable()
  @NullIsEmpty(() => ({}))
  @IsJsonObject()
  metadata?: Record<string, unknown>;

  /** The plan to bill and limit this consumer by; `null`: none. @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  @IsOptional()
  @IsString()
  @Matches(/^plan_[0-9A-Za-z]{10,40}$/, { message: 'must be a plan id' })
  planId?: string | null;

  /** Day of the month (1-28) on which billing periods start. @example 1 */
  @IsOmittable()
  @IsInt()
  @Min(1)
  @Max(28)
  @ApiInt()
  billingAnchorDay?: number;
}

export class ListConsumersQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(['active', 'suspended'])
  status?: 'active' | 'suspended';

  @IsOptional()
  @IsString()
  @MaxLength(40)
  planId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  externalId?: string;

  /**
   * Consumers whose name contains this text, ignoring case (of ASCII letters on SQLite); `%` and `_`
   * match themselves.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;
}
