import { Logger } from '@nestjs/common';
import type { AuthKey } from '../auth/auth-key';
import type { KeyCache } from '../auth/key-cache';
import type { UsageSettings } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';
import type { RollupRow, UsageBatch } from './usage-batch';
import { UsageRecorder } from './usage-recorder.service';
import type { UsageSink } from './usage-sink.service';

const MIN = 60_000;
const T0 = Date.parse('2026-03-10T12:00:00.000Z');

function key(id: string, consumerId: string | null, environment: 'live' | 'test' = 'live'): AuthKey {
  return {
    id,
    kind: consumerId ? 'secret' : 'admin',
    name: id,
    environment,
    scopes: [],
    expiresAt: null,
    revokedAt: null,
    ipMatcher: null,
    allowedOrigins: null,
    rateLimits: [],
    consumer: consumerId ? { id: consumerId, status: 'active', planId: null, billingAnchorDay: 1, createdAt: 0, plan: null } : null,
  };
}

/**
 * A database stand-in that applies each batch once by id, like usage_flushes does, and can be told to
 * fail the next writes — before or after "committing".
 */
class FakeSink {
  readonly applied = new Set<string>();
  readonly totals = new Map<string, number>();
  readonly lastUsed = new Map<string, number>();
  readonly calls: UsageBatch[] = [];
  failBefore = 0;
  failAfterCommit = 0;
  active = 0;
  maxActive = 0;

  async write(batch: UsageBatch): Promise<boolean> {
    this.calls.push(batch);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise((r) => setTimeout(r, 1));
      if (this.failBefore > 0) {
        this.failBefore--;
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      }
      if (this.applied.has(batch.id)) return false;
      this.applied.add(batch.id);
      for (const r of batch.rows) this.totals.set(rowKey(r), (this.totals.get(rowKey(r)) ?? 0) + r.quantity);
      for (const id of batch.lastUsed?.keyIds ?? []) this.lastUsed.set(id, Math.max(this.lastUsed.get(id) ?? 0, batch.lastUsed!.at));
      if (this.failAfterCommit > 0) {
        this.failAfterCommit--;
        throw Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' });
      }
      return true;
    } finally {
      this.active--;
    }
  }

  total(): number {
    let n = 0;
    for (const q of this.totals.values()) n += q;
    return n;
  }
}

const rowKey = (r: RollupRow) => `${r.consumer_id}|${r.bucket}|${r.metric}|${r.key_id}|${r.environment}`;

function setup(opts: Partial<{ flushIntervalMs: number; batchRows: number; maxRows: number }> = {}) {
  const usage: UsageSettings = {
    flushIntervalMs: opts.flushIntervalMs ?? 50,
    flushBatchRows: opts.batchRows ?? 1000,
    bufferMaxRows: opts.maxRows ?? 100_000,
    backfillDays: 35,
  };
  const metrics = new MetricsService({ hits: 0, misses: 0, size: 0 } as unknown as KeyCache);
  const sink = new FakeSink();
  const recorder = new UsageRecorder(sink as unknown as UsageSink, metrics, usage);
  return { recorder, sink, metrics };
}

const counter = async (m: { get(): Promise<{ values: { value: number }[] }> }) => (await m.get()).values[0]?.value ?? 0;

describe('UsageRecorder', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterEach(() => jest.useRealTimers());

  it('adds counts per consumer, minute, metric and key, and writes them sorted by key', async () => {
    const { recorder, sink } = setup();
    const a = key('key_a', 'cons_1');
    const b = key('key_b', 'cons_1', 'test');
    recorder.record(b, 'requests', 1, T0 + 5);
    recorder.record(a, 'requests', 1, T0 + 10);
    recorder.record(a, 'requests', 2, T0 + 59_999);
    recorder.record(a, 'requests', 1, T0 + MIN);
    recorder.record(a, 'tokens', 500, T0 + 20);
    recorder.record(a, 'nothing', 0, T0);
    expect(recorder.pendingRows).toBe(4);
    expect(await recorder.flush()).toBe(true);
    const [batch] = sink.calls;
    expect(batch.rows).toEqual([
      { consumer_id: 'cons_1', bucket: T0 / MIN, metric: 'requests', key_id: 'key_a', environment: 'live', quantity: 3 },
      { consumer_id: 'cons_1', bucket: T0 / MIN, metric: 'requests', key_id: 'key_b', environment: 'test', quantity: 1 },
      { consumer_id: 'cons_1', bucket: T0 / MIN, metric: 'tokens', key_id: 'key_a', environment: 'live', quantity: 500 },
      { consumer_id: 'cons_1', bucket: T0 / MIN + 1, metric: 'requests', key_id: 'key_a', environment: 'live', quantity: 1 },
    ]);
    expect(batch.lastUsed).toEqual({ keyIds: ['key_a', 'key_b'], at: T0 + MIN });
    expect(recorder.pendingRows).toBe(0);
  });

  it('never adds to a row that has left the buffer: counts during a flush go to the next batch', async () => {
    const { recorder, sink } = setup();
    const a = key('key_a', 'cons_1');
    recorder.record(a, 'requests', 1, T0);
    recorder.record(a, 'requests', 1, T0 + 1);
    const writing = recorder.flush(); // the buffer is cut into a batch at once; the write is still going
    recorder.record(a, 'requests', 5, T0 + 2);
    expect(await writing).toBe(true);
    expect(await recorder.flush()).toBe(true);
    expect(sink.calls.map((b) => b.rows.map((r) => r.quantity))).toEqual([[2], [5]]);
    expect(sink.total()).toBe(7);
  });

  it('meters nothing for admin keys, but remembers that they were used', async () => {
    const { recorder, sink } = setup();
    recorder.record(key('key_admin', null), 'requests', 1, T0);
    expect(recorder.pendingRows).toBe(0);
    await recorder.flush();
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0].rows).toEqual([]);
    expect(sink.lastUsed.get('key_admin')).toBe(T0);
  });

  it('keeps the counts of a failed flush, retries the same batch first, and loses nothing', async () => {
    const { recorder, sink, metrics } = setup();
    const a = key('key_a', 'cons_1');
    recorder.record(a, 'requests', 1, T0);
    sink.failBefore = 2;
    expect(await recorder.flush()).toBe(false);
    recorder.record(a, 'requests', 1, T0); // accumulates in the buffer while the batch waits
    expect(await recorder.flush()).toBe(false);
    expect(recorder.pendingRows).toBe(2);
    expect(await recorder.flush()).toBe(true);
    expect(sink.total()).toBe(2);
    expect(new Set(sink.calls.slice(0, 3).map((b) => b.id)).size).toBe(1);
    expect(await counter(metrics.usageFlushFailures)).toBe(2);
    expect(await counter(metrics.usageFlushedRows)).toBe(2);
  });

  it('does not count twice when a commit happened but its answer was lost', async () => {
    const { recorder, sink } = setup();
    recorder.record(key('key_a', 'cons_1'), 'requests', 7, T0);
    sink.failAfterCommit = 1;
    expect(await recorder.flush()).toBe(false);
    expect(await recorder.flush()).toBe(true);
    expect(sink.total()).toBe(7);
  });

  it('bounds memory: past maxRows new rows are dropped and counted, existing rows still add up', async () => {
    const { recorder, sink, metrics } = setup({ maxRows: 3, batchRows: 1000 });
    for (let i = 0; i < 3; i++) recorder.record(key(`key_${i}`, 'cons_1'), 'requests', 1, T0);
    recorder.record(key('key_x', 'cons_1'), 'requests', 5, T0);
    recorder.record(key('key_0', 'cons_1'), 'requests', 4, T0);
    expect(recorder.pendingRows).toBe(3);
    expect(await counter(metrics.usageDropped)).toBe(5);
    sink.failBefore = 1;
    await recorder.flush();
    // Queued rows count against the bound too.
    recorder.record(key('key_y', 'cons_1'), 'requests', 1, T0);
    expect(await counter(metrics.usageDropped)).toBe(6);
    await recorder.flush();
    expect(sink.total()).toBe(7);
  });

  it('runs one flusher at a time, in batches of batchRows', async () => {
    const { recorder, sink } = setup({ batchRows: 10 });
    for (let i = 0; i < 25; i++) recorder.record(key(`key_${String(i).padStart(2, '0')}`, 'cons_1'), 'requests', 1, T0);
    const results = await Promise.all([recorder.flush(), recorder.flush(), recorder.flush()]);
    expect(results).toEqual([true, true, true]);
    expect(sink.maxActive).toBe(1);
    expect(sink.calls.map((b) => b.rows.length)).toEqual([10, 10, 5]);
    expect(sink.calls.filter((b) => b.lastUsed).length).toBe(1);
    expect(sink.total()).toBe(25);
  });

  it('flushes by itself on its interval and as soon as a batch worth of rows is buffered', async () => {
    const { recorder, sink } = setup({ flushIntervalMs: 60_000, batchRows: 5 });
    recorder.onModuleInit();
    try {
      for (let i = 0; i < 5; i++) recorder.record(key(`key_${i}`, 'cons_1'), 'requests', 1);
      await new Promise((r) => setTimeout(r, 30));
      expect(sink.total()).toBe(5);
    } finally {
      await recorder.onApplicationShutdown();
    }
    const timed = setup({ flushIntervalMs: 20, batchRows: 1000 });
    timed.recorder.onModuleInit();
    try {
      timed.recorder.record(key('key_a', 'cons_1'), 'requests', 1);
      await new Promise((r) => setTimeout(r, 80));
      expect(timed.sink.total()).toBe(1);
    } finally {
      await timed.recorder.onApplicationShutdown();
    }
  });

  it('on shutdown retries until the database takes the counts', async () => {
    const { recorder, sink } = setup();
    recorder.record(key('key_a', 'cons_1'), 'requests', 3, T0);
    sink.failBefore = 3;
    await recorder.onApplicationShutdown();
    expect(sink.total()).toBe(3);
    expect(recorder.pendingRows).toBe(0);
  });

  it('reports buffered rows and the age of the oldest unflushed count', async () => {
    const { recorder, sink, metrics } = setup();
    recorder.record(key('key_a', 'cons_1'), 'requests', 1, Date.now() - 5000);
    sink.failBefore = 1;
    await recorder.flush();
    expect(await counter(metrics.usageBufferRows)).toBe(1);
    expect(await counter(metrics.usageFlushLag)).toBeGreaterThanOrEqual(5);
    await recorder.flush();
    expect(await counter(metrics.usageBufferRows)).toBe(0);
    expect(await counter(metrics.usageFlushLag)).toBe(0);
  });
});
