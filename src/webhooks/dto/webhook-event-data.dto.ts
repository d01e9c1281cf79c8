import { ApiDateTime, ApiInt } from '../../common/api-schema';
import { ApiProperty } from '@nestjs/swagger';
import { InvoiceDto } from '../../billing/dto/invoice.dto';

/** A key as events describe it (never its hash or plaintext). */
export class WebhookKeyDto {
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "secret" */
  @ApiProperty({ enum: ['admin', 'secret', 'publishable'] })
  kind: string;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string | null;
  /** @example "production backend" */
  name: string;
  /** @example "live" */
  @ApiProperty({ enum: ['live', 'test'] })
  environment: string;
  /** @example "tg_live_3xK9" */
  start: string;
  /** @example ["usage:read"] */
  scopes: string[];
  /** @example null */
  @ApiDateTime()
  expiresAt: string | null;
  /** @example null */
  @ApiDateTime()
  revokedAt: string | null;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
}

export class WebhookConsumerDto {
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "Acme Corp" */
  name: string;
  /** @example "acct_4421" */
  externalId: string | null;
  /** @example "active" */
  @ApiProperty({ enum: ['active', 'suspended'] })
  status: string;
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  planId: string | null;
  /** @example {"tier":"gold"} */
  metadata: Record<string, unknown>;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
}

export class KeyEventDataDto {
  key: WebhookKeyDto;
}

export class KeyRotatedDataDto {
  /** The rotated key, whose expiresAt is now the end of the grace period. */
  key: WebhookKeyDto;
  /** The key that replaces it. */
  newKey: WebhookKeyDto;
  /** @example 3600 */
  @ApiInt()
  gracePeriodSeconds: number;
}

export class KeyRevokedDataDto {
  key: WebhookKeyDto;
  /** `leaked` when revoked through a leak report. @example "revoked" */
  @ApiProperty({ enum: ['revoked', 'leaked'] })
  reason: string;
}

export class KeyExpiringDataDto {
  key: WebhookKeyDto;
  /** Which notice this is: 7 days or 1 day before expiresAt. @example "7d" */
  @ApiProperty({ enum: ['7d', '1d'] })
  within: string;
}

export class KeyLeakedDataDto {
  key: WebhookKeyDto;
  /** Where the key was found, as the reporter said. @example "github-secret-scanning" */
  source: string | null;
  /** The key had been revoked before this report. @example false */
  alreadyRevoked: boolean;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  reportedAt: string;
}

export class ConsumerEventDataDto {
  consumer: WebhookConsumerDto;
}

export class QuotaThresholdDataDto {
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** The key whose request crossed the threshold. @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  keyId: string;
  /** @example "requests" */
  metric: string;
  /** Percent of the limit. @example 80 */
  @ApiInt()
  threshold: number;
  /** @example 100000 */
  @ApiInt()
  limit: number;
  /** Used in the period when the threshold was crossed. @example 80000 */
  @ApiInt()
  used: number;
  /** When the period ends and the quota starts again. @example "2026-12-01T00:00:00.000Z" */
  @ApiDateTime()
  periodEnd: string;
}

export class RateLimitRuleStateDto {
  /** @example "default" */
  name: string;
  /** @example 1000 */
  @ApiInt()
  limit: number;
  /** @example 60 */
  @ApiInt()
  windowSeconds: number;
  /** `consumer`: all keys of the consumer count together; `key`: this key alone. @example "consumer" */
  @ApiProperty({ enum: ['consumer', 'key'] })
  scope: string;
}

export class RateLimitExceededDataDto {
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  keyId: string;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string | null;
  /** The limit that refused the request. */
  limit: RateLimitRuleStateDto;
  /** When the window ends and requests are admitted again. @example "2026-11-22T10:01:00.000Z" */
  @ApiDateTime()
  windowEndsAt: string;
}

export class InvoiceClosedDataDto {
  invoice: InvoiceDto;
}

export class DisabledEndpointDto {
  /** @example "whe_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "https://hooks.example.com/tollgate" */
  url: string;
  /** @example null */
  description: string | null;
}

export class EndpointDisabledDataDto {
  endpoint: DisabledEndpointDto;
  /** @example "failing" */
  @ApiProperty({ enum: ['failing'] })
  reason: string;
  /** @example "2026-11-19T10:00:00.000Z" */
  @ApiDateTime()
  failingSince: string | null;
}

export class WebhookTestDataDto {
  /** @example "whe_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  endpointId: string;
  /** @example "This is a test event from Tollgate." */
  message: string;
}
