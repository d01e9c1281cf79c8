import { Global, Module } from '@nestjs/common';
import { RateLimitModule } from '../../rate-limit/rate-limit.module';
import { UsageModule } from '../usage.module';
import { MeterInterceptor } from './meter.interceptor';

/**
 * @Meter() names MeterInterceptor on routes of any module, a team's own included; Nest builds the
 * interceptor in the module of the controller, so what it needs is exported from a global module and
 * a team's module imports nothing for it.
 */
@Global()
@Module({
  imports: [UsageModule, RateLimitModule],
  providers: [MeterInterceptor],
  exports: [MeterInterceptor, UsageModule, RateLimitModule],
})
export class MeteringModule {}
