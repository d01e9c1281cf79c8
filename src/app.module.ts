import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuditModule } from './audit/audit.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { AuthModule } from './auth/auth.module';
import { ScopesGuard } from './auth/scopes.guard';
import { BillingModule } from './billing/billing.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { validateEnv } from './config/env.validation';
import { ConsumersModule } from './consumers/consumers.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { KeysModule } from './keys/keys.module';
import { MeModule } from './me/me.module';
import { MetricsModule } from './metrics/metrics.module';
import { PlansModule } from './plans/plans.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { VerifyModule } from './verify/verify.module';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv, cache: true }),
    DatabaseModule,
    RedisModule,
    RateLimitModule,
    AuditModule,
    AuthModule,
    MetricsModule,
    ConsumersModule,
    KeysModule,
    MeModule,
    VerifyModule,
    HealthModule,
    PlansModule,
    BillingModule,
  ],
  providers: [
    // Global guards run in the order registered: who is calling, then may they.
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
    { provide: APP_GUARD, useExisting: ScopesGuard },
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
  ],
})
export class AppModule {}
