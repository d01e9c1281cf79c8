import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Plan } from '../plans/plan.entity';
import { BillingCloser } from './billing-closer.service';
import { BillingExporter } from './billing-exporter.service';
import { BillingPeriod } from './billing-period.entity';
import { BillingPeriodsService } from './billing-periods.service';
import { BillingController } from './billing.controller';
import { BillingScheduler } from './billing.scheduler';
import { BillingService } from './billing.service';
import { Invoice } from './invoice.entity';
import { MeBillingController } from './me-billing.controller';

@Module({
  imports: [TypeOrmModule.forFeature([BillingPeriod, Invoice, Plan])],
  controllers: [BillingController, MeBillingController],
  providers: [BillingPeriodsService, BillingService, BillingCloser, BillingExporter, BillingScheduler],
  exports: [BillingPeriodsService, BillingService, BillingCloser, BillingScheduler],
})
export class BillingModule {}
