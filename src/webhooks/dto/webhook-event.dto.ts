import { ApiExtraModels, ApiProperty, ApiSchema } from '@nestjs/swagger';
import { nullableRef, OrNull } from '../../common/api-schema';
import type { EventType } from '../webhook-events';
import {
  ConsumerEventDataDto,
  EndpointDisabledDataDto,
  InvoiceClosedDataDto,
  KeyEventDataDto,
  KeyExpiringDataDto,
  KeyLeakedDataDto,
  KeyRevokedDataDto,
  KeyRotatedDataDto,
  QuotaThresholdDataDto,
  RateLimitExceededDataDto,
  WebhookTestDataDto,
} from './webhook-event-data.dto';

/**
 * The body of every delivery: `{id, type, createdAt, data}`; `data` depends on `type`. In the delivery log,
 * `data` is null for a reader without the read scope of the event's resource (see event-scopes.ts).
 */
export interface WebhookEventDto {
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, unknown> | null;
}

type EventSchema = (new () => WebhookEventDto) & { eventType: EventType };

/** One OpenAPI schema per event type, named after it (`KeyRevokedEvent`, …). */
function eventSchema(type: EventType, data: new () => unknown, description: string): EventSchema {
  class EventDto {
    static readonly eventType = type;

    @ApiProperty({ description: 'Unique per event; also the `webhook-id` header. Receivers deduplicate on it.', example: 'evt_01JD5X3V8Q2mZt9aK3LpQw7Rv' })
    id: string;

    @ApiProperty({ enum: [type], example: type })
    type: string;

    @ApiProperty({ format: 'date-time', example: '2026-11-22T10:00:00.000Z' })
    createdAt: string;

    @ApiProperty({
      type: undefined,
      oneOf: nullableRef(data),
      description:
        "Always sent to receivers. In the delivery log it is null when the reader's key lacks the read scope of the event's resource (`consumers:read` for consumer.*, `keys:read` for key.*, `billing:read` for invoice.*, `usage:read` for quota.* and rate_limit.*); the delivery's `resourceIds` still name what the event is about.",
    })
    data: OrNull<Record<string, unknown>>;
  }
  const name = `${type
    .split(/[._]/)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('')}Event`;
  Object.defineProperty(EventDto, 'name', { value: name });
  ApiSchema({ name, description })(EventDto);
  // Referenced through oneOf (to admit null), which does not register the data schema by itself.
  ApiExtraModels(data)(EventDto);
  return EventDto;
}

export const EVENT_SCHEMAS: EventSchema[] = [
  eventSchema('key.created', KeyEventDataDto, 'A key was created.'),
  eventSchema('key.rotated', KeyRotatedDataDto, 'A key was rotated: `newKey` replaces `key`, which works until the end of the grace period.'),
  eventSchema('key.revoked', KeyRevokedDataDto, 'A key was revoked (sent once per key).'),
  eventSchema('key.expiring', KeyExpiringDataDto, 'A key expires within 7 days (`within: 7d`) or 1 day (`within: 1d`); each notice is sent once.'),
  eventSchema('key.leaked', KeyLeakedDataDto, 'A key was reported as leaked (by its plaintext) and revoked.'),
  eventSchema('consumer.created', ConsumerEventDataDto, 'A consumer was created.'),
  eventSchema('consumer.suspended', ConsumerEventDataDto, 'A consumer was suspended: all its keys are refused.'),
  eventSchema('consumer.resumed', ConsumerEventDataDto, 'A suspended consumer was resumed.'),
  eventSchema('quota.threshold', QuotaThresholdDataDto, "A plan quota crossed one of its thresholds (default 80 % and 100 %); once per period and threshold."),
  eventSchema('rate_limit.exceeded', RateLimitExceededDataDto, "A key's first refused request (429) in a rate-limit window."),
  eventSchema('invoice.closed', InvoiceClosedDataDto, 'A billing period was closed; the invoice with its lines and total.'),
  eventSchema('webhook.endpoint_disabled', EndpointDisabledDataDto, 'An endpoint failed every delivery for 3 days and was disabled.'),
  eventSchema('webhook.test', WebhookTestDataDto, 'Sent by the test action to one endpoint.'),
];
