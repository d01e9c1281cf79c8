import { Module } from '@nestjs/common';
import { ConsumersModule } from '../consumers/consumers.module';
import { KeysModule } from '../keys/keys.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { MeController } from './me.controller';
import { MeService } from './me.service';

@Module({ imports: [ConsumersModule, KeysModule, RateLimitModule], controllers: [MeController], providers: [MeService] })
export class MeModule {}
