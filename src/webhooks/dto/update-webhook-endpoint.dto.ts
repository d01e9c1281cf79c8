import { PartialType } from '@nestjs/swagger';
import { CreateWebhookEndpointDto } from './create-webhook-endpoint.dto';

/**
 * Only the fields given change. Enabling an endpoint clears its failure record. `null` clears `description` and
 * `metadata` (`{}`); for `url`, `events` and `enabled` it is a 400.
 */
export class UpdateWebhookEndpointDto extends PartialType(CreateWebhookEndpointDto, { skipNullProperties: false }) {}
