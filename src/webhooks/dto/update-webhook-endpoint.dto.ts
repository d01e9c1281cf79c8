import { PartialType } from '@nestjs/swagger';
import { CreateWebhookEndpointDto } from './create-webhook-endpoint.dto';

/** Only the fields given change. Enabling an endpoint clears its failure record. */
export class UpdateWebhookEndpointDto extends PartialType(CreateWebhookEndpointDto) {}
