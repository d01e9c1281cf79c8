import { Module } from '@nestjs/common';
import { ConsumersModule } from '../consumers/consumers.module';
import { KeysModule } from '../keys/keys.module';
import { MeController } from './me.controller';
import { MeService } from './me.service';

@Module({ imports: [ConsumersModule, KeysModule], controllers: [MeController], providers: [MeService] })
export class MeModule {}
