import { ArrayMaxSize, IsArray, IsInt, IsIP, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ApiProperty } from '@nestjs/swagger';
import type { KeyEnvironment } from '../../auth/key-format';
import type { KeyKind } from '../../auth/scopes';
import { ErrorCode } from '../../common/error-code';
import { ApiDateTime, ApiInt, nullableRef, OrNull } from '../../common/api-schema';

export class VerifyKeyDto {
  /** The key presented to your service. @example "tg_live_3xK9pQ2mZt9aK3LpQw7RvB8nC1dE5fG7hJ0kL2" */
  @IsString()
  @MaxLength(256)
  key: string;

  /** Scopes the key must hold for this call; any missing gives INSUFFICIENT_PERMISSIONS. @example ["orders:read"] */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  scopes?: string[];

  /** Metric to meter for a valid key. @example "requests" */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_.-]{0,63}$/, { message: 'must be 1-64 lowercase letters, digits, _ . or -' })
  metric?: string;

  /** Units to meter; 0 checks without metering or consuming limits. @example 1 */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  @ApiInt()
  cost?: number;

  /** The address of the client that presented the key, for the key's IP allowlist; defaults to this request's address. @example "203.0.113.7" */
  @IsOptional()
  @IsIP()
  ip?: string;

  /** The Origin header the client sent, for a publishable key's allowed origins; defaults to this request's Origin. @example "https://app.example.com" */
  @IsOptional()
  @IsString()
  @MaxLength(300)
  origin?: string;
}

export class RateLimitStateDto {
  /** @example "default" */
  name: string;
  /** @example 1000 */
  @ApiInt()
  limit: number;
  /** The length of the window in seconds (RateLimit-Policy's `w`). @example 60 */
  @ApiInt()
  windowSeconds: number;
  /** @example 999 */
  @ApiInt()
  remaining: number;
  /** Seconds until the window resets. @example 42 */
  @ApiInt()
  reset: number;
}

export class QuotaStateDto {
  /** @example "requests" */
  metric: string;
  /** @example 100000 */
  @ApiInt()
  limit: number;
  /** @example 4521 */
  @ApiInt()
  used: number;
  /** @example 95479 */
  @ApiInt()
  remaining: number;
  /** End of the billing period the quota belongs to. @example "2026-12-01T00:00:00.000Z" */
  @ApiDateTime()
  periodEnd: string;
}

/** `VALID`, or the error code a direct call with the key would get. */
export const VERIFY_CODES = ['VALID', ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.GATEWAY_KEY_INVALID)] as const;
export type VerifyCode = 'VALID' | ErrorCode;

export class VerifyKeyResponseDto {
  /** @example true */
  valid: boolean;
  /** VALID, or the error code a direct call with this key would get. @example "VALID" */
  @ApiProperty({ enum: VERIFY_CODES })
  code: VerifyCode;
  /** Null when the key is unknown. @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  keyId: string | null;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string | null;
  /** The key's kind; null when the key is unknown. An admin key is never valid here. @example "secret" */
  @ApiProperty({ type: 'string', enum: ['admin', 'secret', 'publishable', null], nullable: true })
  kind: KeyKind | null;
  /** `test` keys are unbilled test traffic, `live` keys real traffic; null when the key is unknown. @example "live" */
  @ApiProperty({ type: 'string', enum: ['live', 'test', null], nullable: true })
  environment: KeyEnvironment | null;
  /** @example ["orders:read","usage:write"] */
  scopes: string[];
  /** @example null */
  @ApiDateTime()
  expiresAt: string | null;
  rateLimits: RateLimitStateDto[];
  /** The quota of the metered metric, when the plan has one; null otherwise. */
  @ApiProperty({ type: undefined, oneOf: nullableRef(QuotaStateDto) })
  quota: OrNull<QuotaStateDto>;
}
