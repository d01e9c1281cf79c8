import { Module } from '@nestjs/common';
import { RedisService } from './redis.service';

/** The shared Redis connections; imported by the modules that use Redis (auth, limits, health). */
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
