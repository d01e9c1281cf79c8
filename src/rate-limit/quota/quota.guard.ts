import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { AuthKey } from '../../auth/auth-key';
import { Admission } from '../../admission/admission.service';
import { METER, type MeterOptions } from '../../usage/metering/meter-options';
import { QuotaService } from './quota.service';

/** Every authenticated request counts 1 of the metric `requests`. */
export const REQUESTS_METRIC = 'requests';

/**
 * Fourth global guard: a request that passed the rate limits consumes one unit of the plan's `requests`
 * quota, if the plan has one. On a route with @Meter(metric, cost), the plan's quota on that metric is
 * checked here too, among the guards, so that a refusal is not counted as a request: a fixed cost is taken
 * now, a cost computed from the response needs one unit left (MeterInterceptor takes it afterwards).
 * Keys without such quotas pass synchronously, without touching a counter.
 */
@Injectable()
export class QuotaGuard implements CanActivate {
  /** @Meter of each handler, read once; null when it has none. */
  private readonly meters = new WeakMap<object, MeterOptions | null>();

  constructor(
    private readonly admission: Admission,
    private readonly quotas: QuotaService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const auth = context.getArgByIndex<FastifyRequest>(0).auth;
    // No auth means a @Public() route (ApiKeyGuard denies every other route without a key).
    if (auth === undefined) return true;
    const meter = this.meterOf(context.getHandler());
    const metered = meter !== null && this.admission.hasQuota(auth.key, meter.metric) ? meter : null;
    if (metered === null && !this.admission.hasQuota(auth.key, REQUESTS_METRIC)) return true;
    return this.consume(auth.key, metered);
  }

  private meterOf(handler: object): MeterOptions | null {
    let meter = this.meters.get(handler);
    if (meter === undefined) {
      meter = this.reflector.get<MeterOptions | undefined>(METER, handler as () => unknown) ?? null;
      this.meters.set(handler, meter);
    }
    return meter;
  }

  private async consume(key: AuthKey, meter: MeterOptions | null): Promise<boolean> {
    const requests = this.admission.hasQuota(key, REQUESTS_METRIC);
    if (requests) {
      const decision = await this.admission.takeQuota(key, REQUESTS_METRIC, 1);
      if (!decision.allowed) throw this.admission.quotaRefusal(decision);
    }
    if (meter === null) return true;
    const decision = typeof meter.cost === 'number' ? await this.admission.takeQuota(key, meter.metric, meter.cost) : await this.quotas.peek(key, meter.metric);
    if (decision.allowed) return true;
    // Refused: the request unit taken above is given back, as for any refused request.
    if (requests) await this.quotas.refund(key, REQUESTS_METRIC, 1);
    throw this.admission.quotaRefusal(decision);
  }
}
