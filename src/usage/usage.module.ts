import { Module } from '@nestjs/common';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { WriterModule } from '../writer/writer.module';
import { AdminUsageController } from './admin-usage.controller';
import { MeUsageController } from './me-usage.controller';
import { UsageEventsController } from './usage-events.controller';
import { UsageEventsService } from './usage-events.service';
import { UsageQueryService } from './usage-query.service';
import { UsageRecorder } from './usage-recorder.service';
import { UsageRetentionService } from './usage-retention.service';

/**
 * Not global on purpose: Nest runs onApplicationShutdown of imported modules before global ones, so the
 * buffered writer's last flush happens while the (global) database connection is still open.
 */
@Module({
  imports: [RateLimitModule, WriterModule],
  controllers: [UsageEventsController, MeUsageController, AdminUsageController],
  providers: [UsageRecorder, UsageEventsService, UsageQueryService, UsageRetentionService],
  exports: [UsageRecorder, UsageQueryService],
})
export class UsageModule {}
