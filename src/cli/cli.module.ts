import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { configModuleOptions } from '../config/settings';
import { DatabaseModule } from '../database/database.module';
import { Consumer } from '../consumers/consumer.entity';
import { ApiKey } from '../keys/api-key.entity';
import { ApiKeysService } from '../keys/api-keys.service';
import { KeyImportService } from '../keys/key-import.service';
import { MetricsModule } from '../metrics/metrics.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { RedisModule } from '../redis/redis.module';
import { WebhookOutboxModule } from '../webhooks/webhook-outbox.module';

/**
 * What the CLI needs to change keys through the same service (and audit) as the API, and nothing that
 * runs in the background: no first-key bootstrap, no usage flushing, no billing scheduler. Redis is
 * here so that a revocation reaches the running instances' caches at once.
 */
@Module({
  imports: [
    ConfigModule.forRoot(configModuleOptions),
    DatabaseModule,
    RedisModule,
    RateLimitModule,
    AuditModule,
    AuthModule,
    MetricsModule,
    // Consumer: an import checks that the consumers its lines name exist.
    TypeOrmModule.forFeature([ApiKey, Consumer]),
    // Changes made here emit their webhook events like the same changes made through the API.
    WebhookOutboxModule,
  ],
  providers: [ApiKeysService, KeyImportService],
})
export class CliModule {}
