import { CanActivate, Controller, ExecutionContext, Get, HttpCode, Injectable, Module, Post, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../auth/decorators';

/**
 * Benchmark instrumentation: the server-side time of the global guard chain, measured with
 * process.hrtime.bigint() by a guard registered before the first real guard and one after the last.
 * Only with BENCH_TRACE_GUARDS=1; otherwise nothing here is registered, so it costs nothing.
 */
export function guardTimingEnabled(): boolean {
  // Read at module definition, before ConfigModule validates (it accepts the same spellings).
  return ['1', 'true', 'yes'].includes(String(process.env.BENCH_TRACE_GUARDS ?? '').toLowerCase());
}

const STARTED = Symbol('guardChainStartedAt');
const CAPACITY = 1 << 20;

@Injectable()
export class GuardTimings {
  private readonly samples = new Float64Array(CAPACITY);
  private count = 0;

  record(nanoseconds: number): void {
    this.samples[this.count % CAPACITY] = nanoseconds;
    this.count++;
  }

  reset(): void {
    this.count = 0;
  }

  /** Percentiles in microseconds over the samples since the last reset (the latest 2^20 of them). */
  summary(): { count: number; p50: number; p90: number; p99: number; p999: number; max: number } {
    const n = Math.min(this.count, CAPACITY);
    const sorted = this.samples.slice(0, n).sort();
    const at = (q: number) => (n === 0 ? 0 : Math.round(sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] / 10) / 100);
    return { count: this.count, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1) };
  }
}

@Injectable()
export class GuardChainStart implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    context.switchToHttp().getRequest()[STARTED] = process.hrtime.bigint();
    return true;
  }
}

@Injectable()
export class GuardChainEnd implements CanActivate {
  constructor(private readonly timings: GuardTimings) {}

  canActivate(context: ExecutionContext): boolean {
    const started: bigint | undefined = context.switchToHttp().getRequest()[STARTED];
    if (started !== undefined) this.timings.record(Number(process.hrtime.bigint() - started));
    return true;
  }
}

@ApiExcludeController()
@Public()
@Controller('bench/guard-timings')
export class GuardTimingController {
  constructor(private readonly timings: GuardTimings) {}

  @Get()
  get(): ReturnType<GuardTimings['summary']> {
    return this.timings.summary();
  }

  @Post('reset')
  @HttpCode(204)
  reset(): void {
    this.timings.reset();
  }
}

@Module({
  controllers: [GuardTimingController],
  providers: [GuardTimings, GuardChainStart, GuardChainEnd],
  exports: [GuardChainStart, GuardChainEnd],
})
export class GuardTimingModule {}

/** Registered in app.module around the real guards; empty unless BENCH_TRACE_GUARDS is set. */
export const guardTiming = {
  modules: (): Array<typeof GuardTimingModule> => (guardTimingEnabled() ? [GuardTimingModule] : []),
  start: (): Provider[] => (guardTimingEnabled() ? [{ provide: APP_GUARD, useExisting: GuardChainStart }] : []),
  end: (): Provider[] => (guardTimingEnabled() ? [{ provide: APP_GUARD, useExisting: GuardChainEnd }] : []),
};
