import fc from 'fast-check';
import type { LimitCheck } from './counter-store';
import { toCounterRecord } from './limit-result';
import { MemoryCounterStore } from './memory-counter.store';

class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

const check = (key: string, limit: number, windowMs: number, cost = 1): LimitCheck => ({ key, limit, windowMs, cost });

describe('MemoryCounterStore', () => {
  it('allows exactly `limit` hits in a window, then refuses', async () => {
    const store = new MemoryCounterStore({ now: new FakeClock().now });
    const verdicts: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const [r] = await store.hit([check('k', 5, 60_000)]);
      verdicts.push(r.allowed);
    }
    expect(verdicts).toEqual([true, true, true, true, true, false, false, false]);
    const [last] = await store.hit([check('k', 5, 60_000)]);
    expect(last).toEqual({ key: 'k', limit: 5, used: 9, remaining: 0, resetMs: 60_000, allowed: false });
  });

  it('starts the window at the first hit and a new one after windowMs', () => {
    const clock = new FakeClock();
    const store = new MemoryCounterStore({ now: clock.now });
    store.hitSync([check('k', 2, 1_000)]);
    clock.advance(400);
    expect(store.hitSync([check('k', 2, 1_000)])[0]).toMatchObject({ used: 2, allowed: true, resetMs: 600 });
    expect(store.hitSync([check('k', 2, 1_000)])[0]).toMatchObject({ used: 3, allowed: false });
    clock.advance(599);
    expect(store.hitSync([check('k', 2, 1_000)])[0]).toMatchObject({ allowed: false, resetMs: 1 });
    clock.advance(1);
    expect(store.hitSync([check('k', 2, 1_000)])[0]).toMatchObject({ used: 1, allowed: true, resetMs: 1_000 });
  });

  it('applies several named checks in one call, each on its own counter, in order', async () => {
    const store = new MemoryCounterStore({ now: new FakeClock().now });
    const checks = [check('plan:c1:default', 3, 60_000), check('key:k1:burst', 1, 1_000)];
    const first = await store.hit(checks);
    expect(first.map((r) => [r.key, r.used, r.allowed])).toEqual([
      ['plan:c1:default', 1, true],
      ['key:k1:burst', 1, true],
    ]);
    const second = await store.hit(checks);
    expect(second.map((r) => [r.key, r.used, r.remaining, r.allowed])).toEqual([
      ['plan:c1:default', 2, 1, true],
      ['key:k1:burst', 2, 0, false],
    ]);
    expect(second[1].resetMs).toBe(1_000);
  });

  it('consumes `cost` units per hit', () => {
    const store = new MemoryCounterStore({ now: new FakeClock().now });
    expect(store.hitSync([check('k', 10, 60_000, 4)])[0]).toMatchObject({ used: 4, remaining: 6, allowed: true });
    expect(store.hitSync([check('k', 10, 60_000, 6)])[0]).toMatchObject({ used: 10, remaining: 0, allowed: true });
    expect(store.hitSync([check('k', 10, 60_000, 1)])[0]).toMatchObject({ used: 11, remaining: 0, allowed: false });
  });

  it('refuses a single hit whose cost exceeds the limit', () => {
    const store = new MemoryCounterStore({ now: new FakeClock().now });
    expect(store.hitSync([check('k', 3, 60_000, 5)])[0]).toMatchObject({ used: 5, allowed: false });
  });

  it('peeks with cost 0: reads without consuming, and says whether one more unit would pass', () => {
    const clock = new FakeClock();
    const store = new MemoryCounterStore({ now: clock.now });
    expect(store.hitSync([check('k', 2, 1_000, 0)])[0]).toEqual({
      key: 'k',
      limit: 2,
      used: 0,
      remaining: 2,
      resetMs: 1_000,
      allowed: true,
    });
    expect(store.size).toBe(0);
    store.hitSync([check('k', 2, 1_000)]);
    clock.advance(300);
    for (let i = 0; i < 5; i++) {
      expect(store.hitSync([check('k', 2, 1_000, 0)])[0]).toMatchObject({ used: 1, remaining: 1, allowed: true, resetMs: 700 });
    }
    store.hitSync([check('k', 2, 1_000)]);
    expect(store.hitSync([check('k', 2, 1_000, 0)])[0]).toMatchObject({ used: 2, remaining: 0, allowed: false });
  });

  it('treats a limit of 0 as always refused', () => {
    const store = new MemoryCounterStore();
    expect(store.hitSync([check('k', 0, 1_000, 0)])[0].allowed).toBe(false);
    expect(store.hitSync([check('k', 0, 1_000)])[0].allowed).toBe(false);
  });

  it.each<[string, Partial<LimitCheck>]>([
    ['a negative cost', { cost: -1 }],
    ['a fractional cost', { cost: 0.5 }],
    ['a zero window', { windowMs: 0 }],
    ['a fractional window', { windowMs: 1.5 }],
    ['a negative limit', { limit: -1 }],
    ['a NaN limit', { limit: Number.NaN }],
  ])('rejects %s', async (_label, patch) => {
    const store = new MemoryCounterStore();
    await expect(store.hit([{ ...check('k', 1, 1_000), ...patch }])).rejects.toThrow(RangeError);
  });

  it('keeps one counter for 100k hits on one key (no per-hit growth)', () => {
    const store = new MemoryCounterStore({ now: new FakeClock().now });
    const hot = [check('hot', 1_000, 60_000)];
    const started = process.hrtime.bigint();
    for (let i = 0; i < 100_000; i++) store.hitSync(hot);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(store.size).toBe(1);
    expect(store.hitSync(hot)[0].used).toBe(100_001);
    // A list of hits filtered on each check would take minutes here (O(n²)); counters take milliseconds.
    expect(elapsedMs).toBeLessThan(1_000);
  });

  it('holds one entry per key whatever the hits, under any sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }),
        (hits) => {
          const store = new MemoryCounterStore({ now: new FakeClock().now });
          for (const [key, cost] of hits) store.hitSync([check(key, 5, 60_000, cost)]);
          const consumed = new Set(hits.filter(([, cost]) => cost > 0).map(([key]) => key));
          expect(store.size).toBe(consumed.size);
        },
      ),
    );
  });

  it('agrees with a reference model of fixed windows under random hits, costs and time (property)', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b'),
      cost: fc.integer({ min: 0, max: 3 }),
      advance: fc.integer({ min: 0, max: 700 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = new FakeClock();
        const store = new MemoryCounterStore({ now: clock.now });
        const model = new Map<string, { count: number; resetAt: number }>();
        const limit = 4;
        const windowMs = 1_000;
        for (const { key, cost, advance } of ops) {
          clock.advance(advance);
          let w = model.get(key);
          if (w === undefined || w.resetAt <= clock.t) {
            w = { count: 0, resetAt: clock.t + windowMs };
            if (cost > 0) model.set(key, w);
          }
          w.count += cost;
          const expected = {
            used: w.count,
            remaining: Math.max(0, limit - w.count),
            resetMs: w.resetAt - clock.t,
            allowed: cost === 0 ? w.count + 1 <= limit : w.count <= limit,
          };
          expect(store.hitSync([check(key, limit, windowMs, cost)])[0]).toEqual({ key, limit, ...expected });
        }
      }),
    );
  });

  it("answers the throttler's increments and peeks as the checks do (property)", () => {
    const op = fc.record({ key: fc.constantFrom('a', 'b'), cost: fc.constantFrom(0, 1), advance: fc.integer({ min: 0, max: 700 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = new FakeClock();
        const records = new MemoryCounterStore({ now: clock.now });
        const checks = new MemoryCounterStore({ now: clock.now });
        for (const { key, cost, advance } of ops) {
          clock.advance(advance);
          const r = checks.hitSync([check(key, 3, 1_000, cost)])[0];
          expect(records.incrementSync(key, 1_000, 3, cost as 0 | 1)).toEqual(toCounterRecord(r, cost));
        }
      }),
    );
  });

  describe('bounded size', () => {
    it('never holds more than maxKeys counters', () => {
      const store = new MemoryCounterStore({ maxKeys: 100, now: new FakeClock().now });
      for (let i = 0; i < 10_000; i++) {
        store.hitSync([check(`k${i}`, 10, 60_000)]);
        expect(store.size).toBeLessThanOrEqual(100);
      }
      expect(store.size).toBe(100);
    });

    it('evicts the oldest counters when none has expired', () => {
      const store = new MemoryCounterStore({ maxKeys: 3, now: new FakeClock().now });
      for (const key of ['a', 'b', 'c']) store.hitSync([check(key, 10, 60_000)]);
      store.hitSync([check('a', 10, 60_000)]);
      store.hitSync([check('d', 10, 60_000)]);
      // 'a' was inserted first; further hits within its window do not make it younger.
      expect(store.hitSync([check('a', 10, 60_000, 0)])[0].used).toBe(0);
      expect(store.hitSync([check('b', 10, 60_000, 0)])[0].used).toBe(1);
      expect(store.hitSync([check('c', 10, 60_000, 0)])[0].used).toBe(1);
      expect(store.hitSync([check('d', 10, 60_000, 0)])[0].used).toBe(1);
    });

    it('drops expired counters before live ones', () => {
      const clock = new FakeClock();
      const store = new MemoryCounterStore({ maxKeys: 3, now: clock.now });
      store.hitSync([check('live-old', 10, 60_000)]);
      store.hitSync([check('short-1', 10, 100)]);
      store.hitSync([check('short-2', 10, 100)]);
      clock.advance(200);
      store.hitSync([check('new', 10, 60_000)]);
      expect(store.size).toBe(2);
      expect(store.hitSync([check('live-old', 10, 60_000, 0)])[0].used).toBe(1);
      expect(store.hitSync([check('new', 10, 60_000, 0)])[0].used).toBe(1);
    });
  });

  describe('sweep', () => {
    it('removes expired counters in the background of later hits', () => {
      const clock = new FakeClock();
      const store = new MemoryCounterStore({ now: clock.now });
      for (let i = 0; i < 5_000; i++) store.hitSync([check(`k${i}`, 10, 500)]);
      expect(store.size).toBe(5_000);
      clock.advance(1_000);
      // Spread over calls: each examines a bounded chunk, so it takes several to finish a pass.
      for (let i = 0; i < 100; i++) store.hitSync([check('other', 10, 60_000)]);
      expect(store.size).toBe(1);
    });

    it('starts a pass at most once per second', () => {
      const clock = new FakeClock();
      const store = new MemoryCounterStore({ now: clock.now });
      store.hitSync([check('x', 10, 60_000)]);
      store.hitSync([check('short', 10, 10)]);
      clock.advance(20);
      // The previous pass ended at the first hit; the next is not due for a second.
      for (let i = 0; i < 50; i++) store.hitSync([check('x', 10, 60_000)]);
      expect(store.size).toBe(2);
      clock.advance(1_000);
      store.hitSync([check('x', 10, 60_000)]);
      expect(store.size).toBe(1);
    });
  });
});
