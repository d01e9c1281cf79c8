import { GuardTimings, guardTiming } from './guard-timing';

describe('GuardTimings', () => {
  it('reports percentiles in microseconds since the last reset', () => {
    const t = new GuardTimings();
    for (let i = 1; i <= 1000; i++) t.record(i * 1000);
    expect(t.summary()).toEqual({ count: 1000, p50: 500, p90: 900, p99: 990, p999: 999, max: 1000 });
    t.reset();
    expect(t.summary()).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
  });

  it('registers nothing unless BENCH_TRACE_GUARDS is set', () => {
    const saved = process.env.BENCH_TRACE_GUARDS;
    try {
      delete process.env.BENCH_TRACE_GUARDS;
      expect([...guardTiming.modules(), ...guardTiming.start(), ...guardTiming.end()]).toEqual([]);
      process.env.BENCH_TRACE_GUARDS = '1';
      expect(guardTiming.start()).toHaveLength(1);
      expect(guardTiming.modules()).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.BENCH_TRACE_GUARDS;
      else process.env.BENCH_TRACE_GUARDS = saved;
    }
  });
});
