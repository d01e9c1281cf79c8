import { ApiDateTime, ApiInt } from '../../common/api-schema';
import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { EVENT_TYPES } from '../webhook-events';
import { EVENT_SCHEMAS, WebhookEventDto } from './webhook-event.dto';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'canceled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One attempt to deliver an event. */
export class WebhookAttemptDto {
  /** 1 for the first attempt. @example 1 */
  @ApiInt()
  attempt: number;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  startedAt: string;
  /** @example 42 */
  @ApiInt()
  durationMs: number;
  /** The receiver's status; null when it did not answer (timeout, refused connection). @example 200 */
  @ApiInt()
  statusCode: number | null;
  /** A 2xx answer. @example true */
  success: boolean;
  /** Why there was no answer. @example null */
  error: string | null;
  /** The start of the response body (1 KiB at most). @example "ok" */
  responseBody: string | null;
}

/** One event for one endpoint, with every attempt made. */
export class WebhookDeliveryDto {
  /** @example "whd_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "whe_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  endpointId: string;
  /** Also the `webhook-id` header of every attempt: receivers deduplicate on it. @example "evt_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  eventId: string;
  /** @example "key.revoked" */
  @ApiProperty({ enum: EVENT_TYPES, enumName: 'WebhookEventType' })
  eventType: string;
  /** `pending` (waiting for an attempt), `succeeded` (a 2xx), `failed` (every attempt failed), `canceled` (the endpoint was disabled or removed). @example "succeeded" */
  @ApiProperty({ enum: DELIVERY_STATUSES, enumName: 'WebhookDeliveryStatus' })
  status: DeliveryStatus;
  /** Attempts made. @example 1 */
  @ApiInt()
  attempts: number;
  /** When the next attempt is due, while pending. @example null */
  @ApiDateTime()
  nextAttemptAt: string | null;
  /** @example 200 */
  @ApiInt()
  lastStatusCode: number | null;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  lastAttemptAt: string | null;
  /** @example null */
  lastError: string | null;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
  /** Every attempt, oldest first. */
  attemptLog: WebhookAttemptDto[];
  /**
   * The ids of the resources the event is about (keys, consumer, invoice, period, endpoint), shown to every
   * reader, also when the event's `data` is withheld.
   * @example ["key_01JD5X3V8Q2mZt9aK3LpQw7Rv", "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv"]
   */
  resourceIds: string[];
  /** The event as it is sent (the request body); its `data` is null for a reader without the scope to read it. */
  @ApiProperty({
    oneOf: EVENT_SCHEMAS.map((s) => ({ $ref: getSchemaPath(s) })),
    discriminator: { propertyName: 'type', mapping: Object.fromEntries(EVENT_SCHEMAS.map((s) => [eventTypeOf(s), getSchemaPath(s)])) },
  })
  event: WebhookEventDto;
}

function eventTypeOf(schema: { eventType: string }): string {
  return schema.eventType;
}

export class ListWebhookDeliveriesQueryDto extends PageQueryDto {
  /** @example "failed" */
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: DeliveryStatus;

  /** @example "key.revoked" */
  @IsOptional()
  @IsIn(EVENT_TYPES)
  eventType?: string;
}
