import { Module } from '@nestjs/common';
import { LeakedKeysService } from '../keys/leaked-keys.service';
import { WebhookOutbox } from './webhook-outbox.service';

/**
 * The part of webhooks that every process making changes needs, the CLI included: events are written to
 * the outbox with the audit entry of each change. Delivery runs only in the server (WebhooksModule).
 */
@Module({
  providers: [WebhookOutbox, LeakedKeysService],
  exports: [WebhookOutbox, LeakedKeysService],
})
export class WebhookOutboxModule {}
