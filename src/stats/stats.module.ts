import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from '../keys/api-key.entity';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';

@Module({ imports: [TypeOrmModule.forFeature([ApiKey])], controllers: [StatsController], providers: [StatsService] })
export class StatsModule {}
