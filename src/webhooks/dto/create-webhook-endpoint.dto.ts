import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { IsJsonObject, IsOmittable, NullIsEmpty } from '../../common/validators';
import { EVENT_TYPES } from '../webhook-events';

/** Event types an endpoint can subscribe to, and `*` for all of them. */
export const SUBSCRIBABLE = ['*', ...EVENT_TYPES.filter((t) => t !== 'webhook.test')];

export class CreateWebhookEndpointDto {
  /** Where events are POSTed; must be https:// and resolve to a public address. @example "https://hooks.example.com/tollgate" */
  @IsString()
  @MinLength(8)
  @MaxLength(2048)
  url: string;

  /** Event types to deliver, or `["*"]` for all. @example ["key.revoked", "quota.threshold"] */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @IsIn(SUBSCRIBABLE, { each: true, message: `each value must be one of: ${SUBSCRIBABLE.join(', ')}` })
  events: string[];

  /** Disabled endpoints receive nothing. @example true */
  @IsOmittable()
  @IsBoolean()
  enabled?: boolean;

  /** `null`: none. @example "Alerts to the on-call channel" */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  /** Free-form JSON object, at most 8 KiB; `null` = `{}`. @example {"team":"platform"} */
  @IsOmittable()
  @NullIsEmpty(() => ({}))
  @IsJsonObject()
  metadata?: Record<string, unknown>;
}
