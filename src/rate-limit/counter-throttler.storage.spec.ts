import { CounterThrottlerStorage } from './counter-throttler.storage';
import { MemoryCounterStore } from './storage';

describe('CounterThrottlerStorage', () => {
  it('answers the stock throttler interface from a fixed-window counter', async () => {
    let now = 1_700_000_000_000;
    const storage = new CounterThrottlerStorage(new MemoryCounterStore({ now: () => now }));
    const records = [];
    for (let i = 0; i < 3; i++) records.push(await storage.increment('tracker', 10_000, 2, 10_000, 'default'));
    expect(records).toEqual([
      { totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 },
      { totalHits: 2, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 },
      { totalHits: 3, timeToExpire: 10, isBlocked: true, timeToBlockExpire: 10 },
    ]);
    now += 10_000;
    expect(await storage.increment('tracker', 10_000, 2, 10_000, 'default')).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('keeps named throttlers on separate counters', async () => {
    const storage = new CounterThrottlerStorage(new MemoryCounterStore());
    await storage.increment('t', 1_000, 1, 1_000, 'short');
    expect((await storage.increment('t', 60_000, 1, 60_000, 'long')).isBlocked).toBe(false);
    expect((await storage.increment('t', 1_000, 1, 1_000, 'short')).isBlocked).toBe(true);
  });
});
