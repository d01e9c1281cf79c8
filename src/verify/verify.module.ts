import { Module } from '@nestjs/common';
import { KeyOutcomesModule } from '../usage/outcomes/key-outcomes.module';
import { UsageModule } from '../usage/usage.module';
import { VerifyController } from './verify.controller';
import { VerifyService } from './verify.service';

@Module({ imports: [UsageModule, KeyOutcomesModule], controllers: [VerifyController], providers: [VerifyService] })
export class VerifyModule {}
