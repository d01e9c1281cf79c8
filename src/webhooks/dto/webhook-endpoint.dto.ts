import { ApiProperty } from '@nestjs/swagger';
import { ApiDateTime } from '../../common/api-schema';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';

/** An endpoint events are delivered to. Its secret is shown only on create and rotate-secret. */
export class WebhookEndpointDto {
  /** @example "whe_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "https://hooks.example.com/tollgate" */
  url: string;
  /** @example "Alerts to the on-call channel" */
  description: string | null;
  /** @example ["key.revoked", "quota.threshold"] */
  events: string[];
  /** @example true */
  enabled: boolean;
  /** @example {"team":"platform"} */
  metadata: Record<string, unknown>;
  /** Why a disabled endpoint was disabled: `failing` (3 days without a successful delivery) or `manual`. @example null */
  @ApiProperty({ type: 'string', enum: ['failing', 'manual', null], nullable: true })
  disabledReason: 'failing' | 'manual' | null;
  /** Since when every attempt has failed; null while deliveries succeed. @example null */
  @ApiDateTime()
  failingSince: string | null;
  /** Until when the previous secret still signs alongside the current one, after a rotation. @example null */
  @ApiDateTime()
  previousSecretExpiresAt: string | null;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  updatedAt: string;
}

export class CreatedWebhookEndpointDto extends WebhookEndpointDto {
  /**
   * The signing secret (Standard Webhooks), shown only this once. Verify deliveries with it, e.g.
   * `new Webhook(secret).verify(body, headers)` from the `standardwebhooks` package.
   * @example "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
   */
  secret: string;
}

export class ListWebhookEndpointsQueryDto extends PageQueryDto {
  /** @example "true" */
  @IsOptional()
  @IsIn(['true', 'false'])
  enabled?: 'true' | 'false';
}
