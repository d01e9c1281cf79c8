import type { KeyCache } from '../../src/auth/key-cache';
import { MetricsService } from '../../src/metrics/metrics.service';
import { LimiterMetrics } from '../../src/rate-limit/limiter-metrics';

/** A real metrics registry of its own, for specs that assert what was recorded. */
export function limiterMetrics(): { metrics: MetricsService; limiter: LimiterMetrics } {
  const metrics = new MetricsService({ hits: 0, misses: 0, size: 0 } as unknown as KeyCache);
  return { metrics, limiter: new LimiterMetrics(metrics) };
}

/** The value of a counter or gauge for one label set (0 when never recorded). */
export async function metricValue(
  metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
