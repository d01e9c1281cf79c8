import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { from, mergeMap, type Observable } from 'rxjs';
import type { AuthKey } from '../../auth/auth-key';
import { QuotaService } from '../../rate-limit/quota/quota.service';
import { UsageRecorder } from '../usage-recorder.service';
import { METER, type MeterOptions } from './meter-options';

/**
 * Applied by @Meter() to its route only, after the handler: the cost, metered for the key, and taken from the
 * plan's quota on the metric when it was known only then (QuotaGuard checked that quota before the handler
 * and took a fixed cost). A handler that throws meters nothing but the `requests` the metering guard counted.
 */
@Injectable()
export class MeterInterceptor implements NestInterceptor {
  private readonly logger = new Logger('Meter');

  constructor(
    private readonly reflector: Reflector,
    private readonly usage: UsageRecorder,
    private readonly quotas: QuotaService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const meter = this.reflector.get<MeterOptions | undefined>(METER, context.getHandler());
    const request = context.getArgByIndex<FastifyRequest>(0);
    const key = request.auth?.key;
    // @Public routes have no key to meter.
    if (!meter || !key) return next.handle();
    return next.handle().pipe(mergeMap((result) => from(this.charge(key, meter, result, request).then(() => result))));
  }

  private async charge(key: AuthKey, meter: MeterOptions, result: unknown, request: FastifyRequest): Promise<void> {
    let units: number;
    if (typeof meter.cost === 'number') {
      units = meter.cost;
    } else {
      try {
        units = Math.ceil(meter.cost(result, request));
      } catch (err) {
        this.logger.error(`cost of ${meter.metric} could not be computed: ${(err as Error).message}`);
        return;
      }
      if (!Number.isSafeInteger(units) || units < 0) {
        this.logger.error(`cost of ${meter.metric} must be a whole number ≥ 0, got ${units}; nothing metered`);
        return;
      }
    }
    this.usage.record(key, meter.metric, units);
    if (typeof meter.cost === 'number' || units === 0 || !this.quotas.hasQuota(key, meter.metric)) return;
    // The work is done: the quota takes all of it, or, when it no longer fits, whatever is left of it,
    // so that the next call is refused (the usage itself is recorded and billed in full either way).
    const taken = await this.quotas.consume(key, meter.metric, units);
    if (!taken.allowed && taken.quota && taken.quota.remaining > 0) await this.quotas.consume(key, meter.metric, taken.quota.remaining);
  }
}
