import { OmitType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  Max,
  Min,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { ISO_DATE_TIME, IsJsonObject, IsOmittable, NullIsEmpty } from '../../common/validators';
import { RateLimitRuleDto } from './rate-limit-rule.dto';
import { ApiDateTime, ApiInt } from '../../common/api-schema';

export const ORIGIN_PATTERN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;

export class CreateKeyDto {
  /** `secret` (server side, default under a consumer), `publishable` (browser/mobile) or `admin` (default under /admin/admin-keys). @example "secret" */
  @IsOmittable()
  @IsIn(['admin', 'secret', 'publishable'])
  kind?: 'admin' | 'secret' | 'publishable';

  /** @example "production backend" */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  /** `test` keys work like `live` ones but their usage stays out of invoices and exports. @example "live" */
  @IsOmittable()
  @IsIn(['live', 'test'])
  environment?: 'live' | 'test';

  /**
   * What the key may do, `resource:action` or `resource:*`, within the caller's own scopes. Admin keys may hold
   * `*`; secret keys `usage:read|write`, `billing:read`, `keys:read|write` (or `usage:*`, …) and your own scopes;
   * publishable keys `usage:write` and your own scopes.
   * @example ["usage:read","usage:write"]
   */
  @IsArray()
  @ArrayMaxSize(50)
  @ArrayUnique()
  @IsString({ each: true })
  scopes: string[];

  /**
   * When the key stops working (ISO-8601, in the future); `null`: never. Left out (or `null`) on create, a key
   * made by a key that expires takes its expiry.
   * @example "2027-01-01T00:00:00.000Z" */
  @IsOptional()
  @Matches(ISO_DATE_TIME, { message: 'must be an ISO-8601 date-time with a time zone' })
  @ApiDateTime()
  expiresAt?: string | null;

  /**
   * IPv4/IPv6 addresses or CIDR blocks the key may be used from; empty (or `null`) = anywhere. Left out on create,
   * a key made by an IP-bound key takes its ranges.
   * @example ["10.0.0.0/8","2001:db8::/32"]
   */
  @IsOmittable()
  @NullIsEmpty(() => [])
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  allowedIps?: string[];

  /** Publishable keys only, and required for them: the browser origins allowed; `null` = none. @example ["https://app.example.com"] */
  @IsOmittable()
  @NullIsEmpty(() => [])
  @IsArray()
  @ArrayMaxSize(50)
  @Matches(ORIGIN_PATTERN, { each: true, message: 'each origin must be scheme://host[:port] in lowercase, without a path' })
  allowedOrigins?: string[];

  /** Limits for this key alone, on top of the plan's; `null` = none. */
  @IsOmittable()
  @NullIsEmpty(() => [])
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => RateLimitRuleDto)
  rateLimits?: RateLimitRuleDto[];

  /** Free-form JSON object, at most 8 KiB; `null` = `{}`. @example {"team":"payments"} */
  @IsOmittable()
  @NullIsEmpty(() => ({}))
  @IsJsonObject()
  metadata?: Record<string, unknown>;
}

const SCOPES_MAX = 50;

/** A key under a consumer: `kind` is `secret` or `publishable`. */
export class CreateConsumerKeyDto extends OmitType(CreateKeyDto, ['kind', 'scopes'] as const) {
  /** `secret` (server side, the default) or `publishable` (browser/mobile; needs allowedOrigins). @example "secret" */
  @IsOmittable()
  @IsIn(['secret', 'publishable'], { message: 'a consumer key is secret or publishable' })
  kind?: 'secret' | 'publishable';

  /**
   * Secret keys: `usage:read`, `usage:write`, `billing:read`, `keys:read`, `keys:write` (or `usage:*`, `billing:*`,
   * `keys:*`) and your own `resource:action` scopes, never `*`. Publishable keys: `usage:write` and your own scopes.
   * A consumer key creating a key grants at most its own scopes.
   * @example ["usage:read","usage:write"]
   */
  @IsArray()
  @ArrayMaxSize(SCOPES_MAX)
  @ArrayUnique()
  @IsString({ each: true })
  scopes: string[];
}

/** An admin key: `kind` can only be `admin`. */
export class CreateAdminKeyDto extends OmitType(CreateKeyDto, ['kind', 'scopes'] as const) {
  /** Always `admin` (the default). @example "admin" */
  @IsOmittable()
  @IsIn(['admin'], { message: 'keys created here are admin keys; create consumer keys under /v1/admin/consumers/{id}/keys' })
  kind?: 'admin';

  /**
   * Admin scopes (`consumers:read`, `keys:write`, …), `resource:*`, `*`, or your own `resource:action` scopes for
   * upstream services that verify keys; at most the caller's own scopes.
   * @example ["consumers:read","keys:verify"]
   */
  @IsArray()
  @ArrayMaxSize(SCOPES_MAX)
  @ArrayUnique()
  @IsString({ each: true })
  scopes: string[];
}

export class RotateKeyDto {
  /** How long the old key keeps working, 0 to 604800 seconds (7 days). @example 3600 */
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(604800)
  @ApiInt()
  gracePeriodSeconds?: number;
}
