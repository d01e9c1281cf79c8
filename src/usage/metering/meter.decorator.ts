import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { METRIC_NAME } from '../usage-event';
import { MeterInterceptor } from './meter.interceptor';
import { METER, type MeterCost, type MeterOptions } from './meter-options';

export { METER, type MeterCost, type MeterOptions };

/**
 * Meters `cost` units of `metric` for the calling key on every request the handler answers without an
 * error, on top of the `requests` every admitted call counts. The units are usage like reported events:
 * they show in usage reports, count against the plan's quota on `metric`, and are billed at its prices.
 *
 * A fixed cost is taken from the quota before the handler runs (refused with 429 QUOTA_EXCEEDED when it
 * does not fit, as a verify with that cost would be). A cost known only afterwards is checked before the
 * handler (at least one unit must be left) and taken after it, in full: the call that crosses the quota is
 * served and billed, the ones after it are refused until the period ends.
 *
 * Only decorated routes run the interceptor; everything else keeps the guard-only request path.
 */
export function Meter<T = any>(metric: string, cost: MeterCost<T> = 1) {
  if (!METRIC_NAME.test(metric)) throw new Error(`@Meter: "${metric}" is not a metric name (${METRIC_NAME.source})`);
  if (typeof cost === 'number' && !(Number.isSafeInteger(cost) && cost >= 0)) throw new Error(`@Meter: cost must be an integer ≥ 0, got ${cost}`);
  const options: MeterOptions = { metric, cost };
  return applyDecorators(
    SetMetadata(METER, options),
    UseInterceptors(MeterInterceptor),
    ApiExtension('x-metered', { metric, cost: typeof cost === 'number' ? cost : 'computed from the response' }),
  );
}
