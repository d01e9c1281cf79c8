import { FakeTollgate } from './testing/fake-tollgate';
import { createUsageReporter, type UsageFailure } from './usage-reporter';

const accepted = (body: { events: { idempotencyKey: string }[] }) => ({
  body: { results: body.events.map((e, index) => ({ index, idempotencyKey: e.idempotencyKey, status: 'accepted' })) },
});

describe('createUsageReporter', () => {
  let fake: FakeTollgate;
  afterEach(() => fake?.close());

  it('batches events per key, at most 1000 per call, each with a generated idempotency key', async () => {
    fake = await FakeTollgate.start((r) => accepted(r.body));
    const reporter = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 60_000 });
    for (let i = 0; i < 1500; i++) reporter.report('tg_live_a', { metric: 'tokens', quantity: 2 });
    reporter.report('tg_live_b', { metric: 'bytes', quantity: 10, idempotencyKey: 'mine', timestamp: '2026-12-05T10:00:00Z' });
    await reporter.close();
    const byKey = (k: string) => fake.received.filter((r) => r.headers['x-api-key'] === k);
    expect(fake.received.every((r) => r.path === '/v1/usage/events')).toBe(true);
    expect(byKey('tg_live_a').map((r) => r.body.events.length).sort()).toEqual([1000, 500]);
    const keys = byKey('tg_live_a').flatMap((r) => r.body.events.map((e: { idempotencyKey: string }) => e.idempotencyKey));
    expect(new Set(keys).size).toBe(1500);
    expect(byKey('tg_live_b')[0].body.events).toEqual([{ metric: 'bytes', quantity: 10, idempotencyKey: 'mine', timestamp: '2026-12-05T10:00:00.000Z' }]);
    expect(() => reporter.report('k', { metric: 'x', quantity: 1 })).toThrow(/closed/);
  });

  it('sends on its interval without being asked', async () => {
    fake = await FakeTollgate.start((r) => accepted(r.body));
    const reporter = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 50 });
    reporter.report('k', { metric: 'tokens', quantity: 1 });
    for (let i = 0; i < 100 && fake.received.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fake.received).toHaveLength(1);
    await reporter.close();
  });

  it('retries 5xx and 429 with the same idempotency keys, then succeeds', async () => {
    let calls = 0;
    fake = await FakeTollgate.start((r) => (++calls === 1 ? { status: 503 } : calls === 2 ? { status: 429 } : accepted(r.body)));
    const failures: UsageFailure[] = [];
    const reporter = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 60_000, backoffMs: 10, onError: (f) => failures.push(f) });
    reporter.report('k', { metric: 'tokens', quantity: 3 });
    await reporter.flush();
    expect(fake.received).toHaveLength(3);
    expect(new Set(fake.received.map((r) => r.body.events[0].idempotencyKey)).size).toBe(1);
    expect(failures).toEqual([]);
    await reporter.close();
  });

  it('gives up after maxAttempts, and at once on a 4xx, telling onError', async () => {
    fake = await FakeTollgate.start((r) => (r.headers['x-api-key'] === 'bad' ? { status: 403, body: { error: 'INSUFFICIENT_PERMISSIONS' } } : { status: 500 }));
    const failures: UsageFailure[] = [];
    const reporter = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 60_000, backoffMs: 5, maxAttempts: 3, onError: (f) => failures.push(f) });
    reporter.report('bad', { metric: 'tokens', quantity: 1 });
    reporter.report('down', { metric: 'tokens', quantity: 1 });
    await reporter.close();
    expect(fake.received.filter((r) => r.headers['x-api-key'] === 'bad')).toHaveLength(1);
    expect(fake.received.filter((r) => r.headers['x-api-key'] === 'down')).toHaveLength(3);
    expect(failures.map((f) => f.reason).sort()).toEqual([expect.stringContaining('403'), expect.stringContaining('500')]);
  });

  it('retries when Tollgate cannot be reached, and reports events Tollgate rejects', async () => {
    const failures: UsageFailure[] = [];
    const reporter = createUsageReporter({ baseUrl: 'http://127.0.0.1:1', flushIntervalMs: 60_000, backoffMs: 5, maxAttempts: 2, onError: (f) => failures.push(f) });
    reporter.report('k', { metric: 'tokens', quantity: 1 });
    await reporter.close();
    expect(failures[0].reason).toMatch(/could not be reached/);

    fake = await FakeTollgate.start(() => ({ body: { results: [{ index: 0, idempotencyKey: 'x', status: 'rejected', error: { code: 'PERIOD_CLOSED', message: 'closed' } }] } }));
    const rejected: UsageFailure[] = [];
    const second = createUsageReporter({ baseUrl: fake.url, flushIntervalMs: 60_000, onError: (f) => rejected.push(f) });
    second.report('k', { metric: 'tokens', quantity: 1, idempotencyKey: 'x' });
    await second.close();
    expect(rejected).toEqual([{ reason: 'PERIOD_CLOSED: closed', events: [expect.objectContaining({ idempotencyKey: 'x' })] }]);
  });

  it('refuses quantities Tollgate would reject', () => {
    const reporter = createUsageReporter({ baseUrl: 'http://127.0.0.1:1' });
    expect(() => reporter.report('k', { metric: 'tokens', quantity: 0 })).toThrow(RangeError);
    expect(() => reporter.report('k', { metric: 'tokens', quantity: 1.5 })).toThrow(RangeError);
    return reporter.close();
  });
});
