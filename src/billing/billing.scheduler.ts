import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { billingConfig } from '../config/settings';
import { BillingCloser } from './billing-closer.service';
import { BillingPeriodsService } from './billing-periods.service';

/**
 * With BILLING_AUTO_CLOSE, once a minute (BILLING_SCHEDULER_INTERVAL_SECONDS): opens every consumer's
 * current period, then closes the periods whose end plus BILLING_CLOSE_GRACE_HOURS has passed. The grace
 * lets usage buffered by every instance reach the database before the close. Any number of instances
 * may run it: opening and closing are both idempotent and safe under concurrency.
 */
@Injectable()
export class BillingScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BillingScheduler.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly enabled: boolean;
  private readonly intervalMs: number;
  private readonly graceMs: number;

  constructor(
    @Inject(billingConfig.KEY) billing: ConfigType<typeof billingConfig>,
    private readonly periods: BillingPeriodsService,
    private readonly closer: BillingCloser,
  ) {
    this.enabled = billing.autoClose;
    this.intervalMs = billing.schedulerIntervalMs;
    this.graceMs = billing.closeGraceMs;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    // A pass soon after start, then one per interval; unref so that the timer never holds the process.
    this.timer = setTimeout(() => this.tick(), Math.min(this.intervalMs, 5000));
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((err: Error) => this.logger.warn(`billing pass failed, retrying next time: ${err.message}`))
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) {
          this.timer = setTimeout(() => this.tick(), this.intervalMs);
          this.timer.unref();
        }
      });
  }

  /** One pass: open current periods, close due ones. Returns what it did. */
  async runOnce(now = new Date()): Promise<{ opened: number; closed: number; ms: number }> {
    const started = Date.now();
    const opened = await this.periods.ensureAll(now);
    const closed = await this.closer.closeDue(new Date(now.getTime() - this.graceMs), now);
    const ms = Date.now() - started;
    if (opened || closed) this.logger.log({ opened, closed, ms }, 'billing pass');
    return { opened, closed, ms };
  }
}
