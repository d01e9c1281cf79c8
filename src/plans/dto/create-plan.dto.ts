import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { IsJsonObject, IsOmittable, NullIsEmpty } from '../../common/validators';
import { RateLimitRuleDto } from '../../keys/dto/rate-limit-rule.dto';
import { IsCurrencyCode } from './is-currency-code';
import { ApiProperty } from '@nestjs/swagger';
import { PRICES_SCHEMA, PriceDto } from './price.dto';
import { QuotaRuleDto } from './quota-rule.dto';
import { ApiInt } from '../../common/api-schema';

export class CreatePlanDto {
  /** @example "Pro" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  /** Active ISO 4217 code, in capitals. @example "USD" */
  @IsCurrencyCode()
  currency: string;

  /** Charged every period, in minor units of the currency (cents for USD, yen for JPY). @example 4900 */
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  @ApiInt()
  baseFeeMinor?: number;

  /** Limits shared by all keys of a consumer on this plan; `null` = none. */
  @IsOmittable()
  @NullIsEmpty(() => [])
  @IsArray()
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => RateLimitRuleDto)
  rateLimits?: RateLimitRuleDto[];

  /** Hard caps per billing period; `null` = none. */
  @IsOmittable()
  @NullIsEmpty(() => [])
  @IsArray()
  @ArrayMaxSize(50)
  @ValidateNested({ each: true })
  @Type(() => QuotaRuleDto)
  quotas?: QuotaRuleDto[];

  /** One price per metric, see docs/billing.md for the four models; `null` = none. */
  @IsOmittable()
  @NullIsEmpty(() => [])
  @IsArray()
  @ArrayMaxSize(100)
  @ApiProperty({ type: 'array', items: PRICES_SCHEMA.items, maxItems: 100, required: false })
  prices?: PriceDto[];

  /** Free-form JSON object, at most 8 KiB; `null` = `{}`. @example {"public":true} */
  @IsOmittable()
  @NullIsEmpty(() => ({}))
  @IsJsonObject()
  metadata?: Record<string, unknown>;
}

export class ListPlansQueryDto extends PageQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(3)
  currency?: string;
}
