import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

export interface UsageEvent {
  metric: string;
  /** A whole number from 1 to 10^9. */
  quantity: number;
  /** When it happened; default now. */
  timestamp?: Date | string;
  /** Generated when not given; a retry of the same batch sends the same keys, so nothing counts twice. */
  idempotencyKey?: string;
}

export interface UsageReporterOptions {
  baseUrl: string;
  /** Events sent at most this often (and as soon as a batch is full). Default 1000 ms. */
  flushIntervalMs?: number;
  /** Events per request; Tollgate takes at most 1000. */
  batchSize?: number;
  /** Tries per batch on network errors, 5xx and 429, with exponential backoff. Default 6. */
  maxAttempts?: number;
  /** First retry delay; doubled each time, with jitter. Default 200 ms. */
  backoffMs?: number;
  timeoutMs?: number;
  /** Events that were given up (after the last try) or rejected by Tollgate, with why. */
  onError?: (failure: UsageFailure) => void;
}

export interface UsageFailure {
  reason: string;
  events: UsageEvent[];
}

export interface UsageReporter {
  /** Queues an event for the consumer of `apiKey` (a key with `usage:write`, e.g. the one the client presented). */
  report(apiKey: string, event: UsageEvent): void;
  /** Sends everything queued now; resolves when it is accepted or given up. */
  flush(): Promise<void>;
  /** Flushes and closes the connections; report() afterwards throws. Call it on shutdown. */
  close(): Promise<void>;
  readonly pending: number;
}

const MAX_BATCH = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Queued {
  apiKey: string;
  event: { metric: string; quantity: number; timestamp?: string; idempotencyKey: string };
}

/**
 * `POST /v1/usage/events` in batches, so that a handler can meter tokens or bytes once it knows them
 * without a request of its own: events wait in memory at most `flushIntervalMs`, grouped by key.
 */
export function createUsageReporter(options: UsageReporterOptions): UsageReporter {
  const base = new URL(options.baseUrl);
  const path = `${base.pathname.replace(/\/+$/, '')}/v1/usage/events`;
  const batchSize = Math.min(MAX_BATCH, Math.max(1, options.batchSize ?? MAX_BATCH));
  const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
  const backoffMs = options.backoffMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pool = new Pool(base.origin, { connections: 4, keepAliveTimeout: 30_000 });
  let queue: Queued[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  let closed = false;
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 1000);
  timer.unref();

  const fail = (reason: string, events: Queued[]) => {
    try {
      options.onError?.({ reason, events: events.map((q) => q.event) });
    } catch {
      // A failing callback must not stop the reporter.
    }
  };

  async function send(apiKey: string, batch: Queued[]): Promise<void> {
    const body = JSON.stringify({ events: batch.map((q) => q.event) });
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let text = '';
      try {
        const res = await pool.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (err) {
        text = (err as Error).message;
      }
      if (status === 200) {
        const results = (JSON.parse(text) as { results: { index: number; status: string; error?: { code: string; message: string } }[] }).results;
        const rejected = results.filter((r) => r.status === 'rejected');
        for (const r of rejected) fail(`${r.error?.code ?? 'REJECTED'}: ${r.error?.message ?? ''}`, [batch[r.index]]);
        return;
      }
      const retriable = status === 0 || status === 429 || status >= 500;
      if (!retriable || attempt >= maxAttempts) {
        fail(status === 0 ? `Tollgate could not be reached: ${text}` : `Tollgate answered ${status}: ${text.slice(0, 200)}`, batch);
        return;
      }
      await sleep(backoffMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4));
    }
  }

  function flush(): Promise<void> {
    const taken = queue;
    queue = [];
    const byKey = new Map<string, Queued[]>();
    for (const q of taken) {
      const list = byKey.get(q.apiKey);
      if (list) list.push(q);
      else byKey.set(q.apiKey, [q]);
    }
    const sends: Promise<void>[] = [];
    for (const [apiKey, list] of byKey) for (let i = 0; i < list.length; i += batchSize) sends.push(send(apiKey, list.slice(i, i + batchSize)));
    // A flush resolves when this batch and every earlier one are done.
    inFlight = Promise.all([inFlight, ...sends]).then(() => undefined);
    return inFlight;
  }

  return {
    get pending() {
      return queue.length;
    },
    report(apiKey, event) {
      if (closed) throw new Error('The usage reporter is closed');
      if (!Number.isSafeInteger(event.quantity) || event.quantity < 1) throw new RangeError(`quantity must be a whole number ≥ 1, got ${event.quantity}`);
      const timestamp = event.timestamp === undefined ? new Date().toISOString() : new Date(event.timestamp).toISOString();
      queue.push({ apiKey, event: { metric: event.metric, quantity: event.quantity, timestamp, idempotencyKey: event.idempotencyKey ?? `sdk_${randomUUID()}` } });
      if (queue.length >= batchSize) void flush();
    },
    flush,
    async close() {
      if (closed) return inFlight;
      closed = true;
      clearInterval(timer);
      await flush();
      await pool.close();
    },
  };
}
