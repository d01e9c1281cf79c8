import { Module } from '@nestjs/common';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { KeyOutcomesModule } from '../usage/outcomes/key-outcomes.module';
import { UsageModule } from '../usage/usage.module';
import { VerifyController } from './verify.controller';
import { VerifyService } from './verify.service';

@Module({ imports: [UsageModule, RateLimitModule, KeyOutcomesModule], controllers: [VerifyController], providers: [VerifyService] })
export class VerifyModule {}
