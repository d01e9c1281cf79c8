import type { TestServer } from './server';

/** Polls `read` until `done` holds or the time is up; returns the last value either way. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A usage range around now, wide enough for every test and narrow enough for minute granularity. */
export function aroundNow(): { from: string; to: string } {
  const now = Date.now();
  return { from: new Date(now - 3_600_000).toISOString(), to: new Date(now + 600_000).toISOString() };
}

export function qs(params: Record<string, string | undefined>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
    .join('&');
}

/** Sum of a report's points for a metric (and key, when given). */
export function sumOf(report: { series: { metric: string; keyId?: string; points: { quantity: number }[] }[] }, metric: string, keyId?: string): number {
  return report.series
    .filter((s) => s.metric === metric && (keyId === undefined || s.keyId === keyId))
    .flatMap((s) => s.points)
    .reduce((a, p) => a + p.quantity, 0);
}

/** Admin view of one consumer's usage, grouped by key. */
export async function adminUsage(server: TestServer, consumerId: string, extra: Record<string, string> = {}) {
  const r = await server.get(`/v1/admin/usage?${qs({ ...aroundNow(), consumerId, groupBy: 'key', granularity: 'hour', ...extra })}`, server.adminKey);
  if (r.status !== 200) throw new Error(`admin usage: ${r.status} ${r.text}`);
  return r.body;
}
