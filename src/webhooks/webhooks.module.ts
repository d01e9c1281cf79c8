import { Module } from '@nestjs/common';
import { LeakedKeysController } from '../keys/leaked-keys.controller';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { WriterModule } from '../writer/writer.module';
import { KeyExpiryScanner } from './key-expiry-scanner.service';
import { WebhookAlerts } from './webhook-alerts.service';
import { WebhookDispatcher } from './webhook-dispatcher.service';
import { WebhookEndpointsController } from './webhook-endpoints.controller';
import { WebhookEndpointsService } from './webhook-endpoints.service';
import { WebhookMetrics } from './webhook-metrics';
import { WebhookOutboxModule } from './webhook-outbox.module';
import { WebhookRetention } from './webhook-retention.service';

/**
 * Webhooks: the endpoints API and delivery log, the dispatcher, and the alerts noticed on the request
 * path. Not global on purpose: Nest shuts imported modules down before global ones, so the buffered
 * writer's last flush (attempt outcomes, queued alerts) runs while the database connection is still open.
 */
@Module({
  imports: [WebhookOutboxModule, RateLimitModule, WriterModule],
  controllers: [WebhookEndpointsController, LeakedKeysController],
  providers: [WebhookEndpointsService, WebhookDispatcher, WebhookAlerts, KeyExpiryScanner, WebhookRetention, WebhookMetrics],
})
export class WebhooksModule {}
