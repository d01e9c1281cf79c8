import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ValidateBy } from 'class-validator';
import { ErrorCode } from '../../common/error-code';
import { MAX_EVENTS_PER_BATCH } from '../usage-event';
import { ApiInt } from '../../common/api-schema';

/**
 * One reported event. Each event is validated on its own (see the per-event results); this class only
 * documents the shape.
 */
export class UsageEventDto {
  @ApiProperty({ pattern: '^[a-z][a-z0-9_.-]{0,63}$', example: 'tokens' })
  metric: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    maximum: 1_000_000_000,
    example: 1250,
    description: 'Whole units; report fractions in a smaller unit (e.g. milliseconds, not seconds).',
  })
  quantity: number;

  @ApiPropertyOptional({
    format: 'date-time',
    description: `When the usage happened; defaults to now (the examples leave it out: a fixed time would fall outside the accepted window). At most 5 minutes ahead, not before the backfill window (USAGE_BACKFILL_DAYS), and not inside a closed billing period.`,
  })
  timestamp?: string;

  @ApiProperty({
    minLength: 1,
    maxLength: 255,
    example: 'chat-7f3a9c-completion-1',
    description: 'Unique per consumer, compared byte for byte, remembered at least 35 days. Resending the same event gives `duplicate`; the same key with other content gives `CONFLICT`.',
  })
  idempotencyKey: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { model: 'small' },
    description: 'Free-form JSON object, at most 4 KiB; stored with the event, part of its content.',
  })
  properties?: Record<string, unknown>;
}

/** The envelope check only: an array of 1 to 1000 items, with one clear message. */
function IsEventList() {
  return ValidateBy({
    name: 'isEventList',
    validator: {
      validate: (v: unknown) => Array.isArray(v) && v.length >= 1 && v.length <= MAX_EVENTS_PER_BATCH,
      defaultMessage: (args) =>
        Array.isArray(args?.value) && args.value.length > MAX_EVENTS_PER_BATCH
          ? `must hold at most ${MAX_EVENTS_PER_BATCH} events; split the batch`
          : `must be an array of 1 to ${MAX_EVENTS_PER_BATCH} events`,
    },
  });
}

export class RecordUsageEventsDto {
  @ApiProperty({ type: [UsageEventDto], minItems: 1, maxItems: MAX_EVENTS_PER_BATCH })
  @IsEventList()
  events: unknown[];
}

export class UsageEventErrorDto {
  @ApiProperty({ enum: [ErrorCode.VALIDATION_FAILED, ErrorCode.CONFLICT, ErrorCode.PERIOD_CLOSED, ErrorCode.QUOTA_EXCEEDED], example: ErrorCode.CONFLICT })
  code: ErrorCode;
  /** @example "idempotencyKey was already used for an event with different content" */
  message: string;
}

export class UsageEventResultDto {
  /** Position of the event in the request. @example 0 */
  @ApiInt()
  index: number;
  /** As sent; null when it was not a string. @example "chat-7f3a9c-completion-1" */
  idempotencyKey: string | null;
  @ApiProperty({ enum: ['accepted', 'duplicate', 'rejected'], example: 'accepted' })
  status: 'accepted' | 'duplicate' | 'rejected';
  /** Only when rejected. */
  error?: UsageEventErrorDto;
}

export class UsageEventsResponseDto {
  /** One result per event, in request order. */
  results: UsageEventResultDto[];
}
