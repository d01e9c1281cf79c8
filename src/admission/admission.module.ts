import { Module } from '@nestjs/common';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { ScopesGuard } from '../auth/scopes.guard';
import { QuotaGuard } from '../rate-limit/quota/quota.guard';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { KeyOutcomesModule } from '../usage/outcomes/key-outcomes.module';
import { UsageMeteringGuard } from '../usage/usage-metering.guard';
import { UsageModule } from '../usage/usage.module';
import { Admission } from './admission.service';

/**
 * The admission step and the global guards that take it for Tollgate's own routes (the rate-limit guard,
 * a ThrottlerGuard, stays in RateLimitModule and counts through the same RateLimitService).
 */
@Module({
  imports: [UsageModule, RateLimitModule, KeyOutcomesModule],
  providers: [Admission, ApiKeyGuard, ScopesGuard, QuotaGuard, UsageMeteringGuard],
  exports: [Admission, ApiKeyGuard, ScopesGuard, QuotaGuard, UsageMeteringGuard],
})
export class AdmissionModule {}
