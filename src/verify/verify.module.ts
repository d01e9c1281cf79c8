import { Module } from '@nestjs/common';
import { UsageModule } from '../usage/usage.module';
import { VerifyController } from './verify.controller';
import { VerifyService } from './verify.service';

@Module({ imports: [UsageModule], controllers: [VerifyController], providers: [VerifyService] })
export class VerifyModule {}
