import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AdmissionModule } from './admission/admission.module';
import { AuditModule } from './audit/audit.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { AuthModule } from './auth/auth.module';
import { ScopesGuard } from './auth/scopes.guard';
import { BillingModule } from './billing/billing.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { configModuleOptions } from './config/settings';
import { ConsumersModule } from './consumers/consumers.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { DatabaseModule } from './database/database.module';
import { extraModules } from './extra-modules';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { KeysModule } from './keys/keys.module';
import { MeModule } from './me/me.module';
import { MetricsModule } from './metrics/metrics.module';
import { PingModule } from './ping/ping.module';
import { guardTiming } from './rate-limit/guard-timing';
import { QuotaGuard } from './rate-limit/quota/quota.guard';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { PlansModule } from './plans/plans.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { RedisModule } from './redis/redis.module';
import { UsageMeteringGuard } from './usage/usage-metering.guard';
import { KeyOutcomesModule } from './usage/outcomes/key-outcomes.module';
import { MeteringModule } from './usage/metering/metering.module';
import { UsageModule } from './usage/usage.module';
import { StatsModule } from './stats/stats.module';
import { VerifyModule } from './verify/verify.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    ConfigModule.forRoot(configModuleOptions),
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
    AdmissionModule,
    GatewayModule,
    UsageModule,
    KeyOutcomesModule,
    StatsModule,
    HealthModule,
    PingModule,
    ...guardTiming.modules(),
    PlansModule,
    BillingModule,
    DashboardModule,
    WebhooksModule,
    MeteringModule,
    // A team's own modules, mounted into the built server (docs/your-modules.md).
    ...extraModules(),
  ],
  providers: [
    // Global guards run in the order registered: who is calling, may they, how often, how much.
    ...guardTiming.start(),
    { provide: APP_GUARD, useExisting: ApiKeyGuard },
    { provide: APP_GUARD, useExisting: ScopesGuard },
    { provide: APP_GUARD, useExisting: RateLimitGuard },
    { provide: APP_GUARD, useExisting: QuotaGuard },
    // Last: counts the requests every guard above admitted (a 400 or a handler error counts, a 401/403/429 does not).
    { provide: APP_GUARD, useExisting: UsageMeteringGuard },
    ...guardTiming.end(),
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
  ],
})
export class AppModule {}
