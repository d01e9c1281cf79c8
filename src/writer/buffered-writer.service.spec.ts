import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import type { UsageSettings } from '../config/settings';
import type { Transactions } from '../database/transactions';
import { MetricsService } from '../metrics/metrics.service';
import type { KeyCache } from '../auth/key-cache';
import { BufferedWriter, type PartHandle } from './buffered-writer.service';
import { WriterMetrics } from './writer-metrics';
import type { WriterPart } from './writer-part';

/** A database stand-in: batch ids applied once (usage_flushes), counters added; can fail before or after "committing". */
class FakeDb {
  readonly ids = new Set<string>();
  readonly totals = new Map<string, number>();
  failBefore = 0;
  failAfterCommit = 0;

  run = async <T>(work: (m: EntityManager) => Promise<T>): Promise<T> => {
    if (this.failBefore > 0) {
      this.failBefore--;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    }
    const staged: Array<[string, number]> = [];
    let id = '';
    const m = {
      query: async (sql: string, params: unknown[]) => {
        if (sql.startsWith('INSERT INTO usage_flushes')) {
          id = String(params[0]);
          if (this.ids.has(id)) throw Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' });
        } else staged.push([String(params[0]), Number(params[1])]);
      },
    } as unknown as EntityManager;
    const out = await work(m);
    if (id) this.ids.add(id);
    for (const [k, n] of staged) this.totals.set(k, (this.totals.get(k) ?? 0) + n);
    if (this.failAfterCommit > 0) {
      this.failAfterCommit--;
      throw Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
    }
    return out;
  };
}

/** Counts per name, journaled as `c\t<name>`. */
class Counts implements WriterPart<Map<string, number>> {
  readonly tag = 'c';
  readonly handle: PartHandle<Map<string, number>>;
  constructor(private readonly writer: BufferedWriter) {
    this.handle = writer.register(this);
  }
  add(name: string): void {
    const agg = this.writer.current(this.handle);
    const had = agg.has(name);
    agg.set(name, (agg.get(name) ?? 0) + 1);
    this.writer.append(`c\t${name}\t1\n`, had ? 0 : 1);
  }
  create() {
    return new Map<string, number>();
  }
  replay(agg: Map<string, number>, line: string): number {
    const [name, n] = line.split('\t');
    const had = agg.has(name);
    agg.set(name, (agg.get(name) ?? 0) + Number(n));
    return had ? 0 : 1;
  }
  dump(agg: Map<string, number>): string {
    return [...agg].map(([k, n]) => `c\t${k}\t${n}\n`).join('');
  }
  isEmpty(agg: Map<string, number>): boolean {
    return agg.size === 0;
  }
  async write(m: EntityManager, agg: Map<string, number>): Promise<void> {
    for (const [k, n] of agg) await m.query('UPSERT', [k, n]);
  }
}

function writer(db: FakeDb, dir: string | null): { writer: BufferedWriter; counts: Counts } {
  const usage = {
    flushIntervalMs: 60_000,
    flushBatchRows: 1000,
    bufferMaxRows: 10_000,
    backfillDays: 35,
    journal: { enabled: dir !== null, dir: dir ?? '', maxBytes: 1 << 30, fsyncIntervalMs: 0 },
  } as UsageSettings;
  const w = new BufferedWriter(db as unknown as Transactions, new WriterMetrics(new MetricsService({ hits: 0, misses: 0, size: 0 } as unknown as KeyCache)), {} as HttpAdapterHost, usage);
  const counts = new Counts(w);
  w.onApplicationBootstrap();
  return { writer: w, counts };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('BufferedWriter', () => {
  let dir: string;
  beforeAll(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'writer-spec-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a segment whose commit answer was lost is retried under its id and applied once', async () => {
    const db = new FakeDb();
    const { writer: w, counts } = writer(db, null);
    counts.add('a');
    counts.add('a');
    db.failAfterCommit = 1;
    expect(await w.flush()).toBe(false);
    expect(await w.flush()).toBe(true);
    expect(db.totals.get('a')).toBe(2);
    await w.onApplicationShutdown();
  });

  it('what a killed instance journaled is replayed by the next one exactly once, also when the replayer dies after its commit', async () => {
    const db = new FakeDb();
    const first = writer(db, dir);
    for (let i = 0; i < 5; i++) first.counts.add(i % 2 ? 'a' : 'b');
    await turn(); // the turn's lines reach the kernel
    // The process dies: no shutdown, its owner file goes stale (here: removed).
    for (const f of readdirSync(dir)) if (f.endsWith('.owner')) unlinkSync(join(dir, f));

    db.failAfterCommit = 1; // the replay commits, then its answer is lost (as if the replayer died there)
    const second = writer(db, dir);
    expect(await second.writer.flush()).toBe(false);
    expect(await second.writer.flush()).toBe(true);
    expect(Object.fromEntries(db.totals)).toEqual({ a: 2, b: 3 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.log'))).toEqual([]);
    await second.writer.onApplicationShutdown();
  });

  it('keeps what the database refuses at shutdown in the journal for the next start', async () => {
    const db = new FakeDb();
    const first = writer(db, dir);
    first.counts.add('x');
    db.failBefore = 1000;
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const shutdown = first.writer.onApplicationShutdown();
    await new Promise((r) => setTimeout(r, 50));
    db.failBefore = 1000;
    await shutdown;
    expect(readdirSync(dir).filter((f) => f.endsWith('.log')).length).toBe(1);
    db.failBefore = 0;
    const second = writer(db, dir);
    expect(await second.writer.flush()).toBe(true);
    expect(db.totals.get('x')).toBe(1);
    await second.writer.onApplicationShutdown();
  }, 20_000);
});
