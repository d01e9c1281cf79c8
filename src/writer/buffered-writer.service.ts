import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { randomBase62 } from '../auth/key-format';
import { isDuplicateKey } from '../common/db-errors';
import { usageConfig } from '../config/settings';
import { sqlTime } from '../database/sql';
import { Transactions } from '../database/transactions';
import { JournalFiles } from './journal';
import { WriterMetrics } from './writer-metrics';
import type { WriterPart } from './writer-part';

/** Retry delays after a failed write grow from the flush interval up to this. */
const MAX_BACKOFF_MS = 15_000;
/** On shutdown, how long failed writes are retried before what is left is left to the journal. */
const SHUTDOWN_FLUSH_MS = 10_000;
const WARNING_EVERY_MS = 10_000;
/** How often files of dead instances are looked for (besides at start). */
const CLAIM_EVERY_MS = 5000;
/** A segment file is rewritten from its totals once it holds this many bytes more than they need. */
const COMPACT_SLACK_BYTES = 8 * 1024 * 1024;

/** A handle on a registered part: the index of its aggregate in every segment. */
export interface PartHandle<A> {
  readonly index: number;
  readonly part: WriterPart<A>;
}

/**
 * A batch: the records appended between two cuts, added up per part, written to the database in one
 * transaction under `id` (a row of usage_flushes), and journaled in one file until that commits.
 */
interface Segment {
  id: string;
  path: string | null;
  fd: number | null;
  bytes: number;
  compactAt: number;
  rows: number;
  aggs: unknown[];
  oldestAt: number;
  replayed: boolean;
}

/**
 * The one buffered writer behind usage counts, key outcomes, hot-path webhook alerts and webhook attempt
 * outcomes. On the request path a record is added to the open segment in memory and its journal line
 * queued; the lines queued during one turn of the event loop are handed to the kernel in one write, and an
 * answer whose request queued a line is sent only after that write (an onSend hook waits for it). So a
 * request that was answered has its count in the journal, which a killed process cannot take with it.
 *
 * A flush cuts the open segment and writes it in one transaction whose first statement records the
 * segment's id: a retry after a lost commit, or a replay of the segment's file after a crash, finds the id
 * and applies nothing twice. The file is deleted once the transaction has committed. Segments that fail
 * stay queued, in order, and are retried with backoff; meanwhile records keep adding up in the open
 * segment, which is cut when it holds a batch worth of rows. At start (and every few seconds) the files of
 * dead instances are claimed and queued like any segment, so they are written as soon as the database
 * accepts writes.
 */
@Injectable()
export class BufferedWriter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Writer');
  private readonly parts: WriterPart<unknown>[] = [];
  private readonly byTag = new Map<string, number>();
  /** Part indexes in the order they are written in a segment's transaction. */
  private readonly writeOrder: number[] = [];
  private readonly flushIntervalMs: number;
  private readonly batchRows: number;
  private readonly maxRows: number;
  private readonly journal: {
    enabled: boolean;
    maxBytes: number;
    fsyncIntervalMs: number;
  };
  private readonly files: JournalFiles | null;
  private readonly instance = `w${randomBase62(12)}`;
  private seq = 0;

  private open: Segment | null = null;
  private readonly queue: Segment[] = [];
  private queuedRows = 0;
  /** Journal lines not yet handed to the kernel (all of the open segment), and answers waiting for them. */
  private pending: string[] = [];
  private pendingBytes = 0;
  private writeScheduled = false;
  private waiters: Array<() => void> = [];
  private journalBytes = 0;

  private flushing: Promise<boolean> | null = null;
  private kicked = false;
  private timer: NodeJS.Timeout | null = null;
  private soonTimer: NodeJS.Timeout | null = null;
  private fsyncTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastClaim = 0;
  private stopped = false;
  private started = false;
  private lastDropWarning = 0;
  private lastBoundWarning = 0;
  private journalBroken = false;

  constructor(
    private readonly tx: Transactions,
    private readonly metrics: WriterMetrics,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(usageConfig.KEY) usage: ConfigType<typeof usageConfig>,
  ) {
    this.flushIntervalMs = usage.flushIntervalMs;
    this.batchRows = usage.flushBatchRows;
    this.maxRows = usage.bufferMaxRows;
    this.journal = { enabled: usage.journal.enabled, maxBytes: usage.journal.maxBytes, fsyncIntervalMs: usage.journal.fsyncIntervalMs };
    this.files = usage.journal.enabled ? new JournalFiles(usage.journal.dir, this.instance) : null;
  }

  /** Parts register in their constructors, before anything is replayed or recorded. */
  register<A>(part: WriterPart<A>): PartHandle<A> {
    if (this.byTag.has(part.tag) || part.tag === '#' || part.tag.length !== 1) throw new Error(`writer part tag ${part.tag} taken or invalid`);
    if (this.started) throw new Error('writer parts register before the application starts');
    this.byTag.set(part.tag, this.parts.length);
    this.parts.push(part as WriterPart<unknown>);
    const index = this.parts.length - 1;
    if (part.writtenLast) this.writeOrder.push(index);
    else this.writeOrder.unshift(index);
    return { index, part };
  }

  /**
   * Runs after every module's onModuleInit, so this onSend hook comes after those that record (the key
   * outcomes' hook counts refusals in onSend): it sees every line queued for the answer it holds.
   */
  onApplicationBootstrap(): void {
    this.started = true;
    if (this.files) {
      this.files.start();
      const fastify: FastifyInstance = this.adapterHost.httpAdapter?.getInstance?.();
      // A callback hook: no promise per request, and no wait at all when nothing was recorded this turn.
      fastify?.addHook('onSend', (_request, _reply, payload, done) => {
        if (this.pending.length === 0) done(null, payload);
        else this.waiters.push(() => done(null, payload));
      });
      if (this.journal.fsyncIntervalMs > 0) {
        this.fsyncTimer = setInterval(() => {
          const fd = this.open?.fd;
          if (fd !== null && fd !== undefined) void this.files!.sync(fd);
        }, this.journal.fsyncIntervalMs);
        this.fsyncTimer.unref();
      }
      this.claim();
    }
    this.schedule(this.flushIntervalMs);
  }

  /** The open segment's aggregate of a part, for the part to add a record to (then call `append`). */
  current<A>(handle: PartHandle<A>): A {
    const seg = this.open ?? this.openSegment();
    return seg.aggs[handle.index] as A;
  }

  /** Whether a record needing a new row would pass the memory bound (then call `drop`). */
  get full(): boolean {
    return (this.open?.rows ?? 0) + this.queuedRows >= this.maxRows;
  }

  /**
   * Queues the journal line of a record just added to `current()` (`line` starts with the part's tag and
   * a tab and ends with a newline); `rows` is how many rows the record added. O(1), no I/O here.
   */
  append(line: string, rows: number): void {
    const seg = this.open!;
    if (rows) {
      seg.rows += rows;
      if (seg.rows >= this.batchRows) this.kick();
    }
    if (!this.files) return;
    if (this.journalBroken || this.journalBytes + this.pendingBytes + line.length > this.journal.maxBytes) {
      this.unjournaled();
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(this.writePendingNow);
    }
  }

  /** A record refused at the memory bound. */
  drop(quantity: number): void {
    this.metrics.dropped.inc(quantity);
    const now = Date.now();
    if (now - this.lastDropWarning >= WARNING_EVERY_MS) {
      this.lastDropWarning = now;
      this.logger.error(`writer buffer full (${this.maxRows} rows): counts needing a new row are being dropped until the database accepts writes`);
    }
  }

  /** Asks for a flush within `ms` (records that someone waits for, such as webhook attempt outcomes). */
  soon(ms: number): void {
    if (this.soonTimer || this.stopped) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      if (Date.now() >= this.retryAt) void this.flush();
    }, ms);
    this.soonTimer.unref();
  }

  /** Rows waiting: in the open segment and in segments queued after a failure or replayed. */
  get rowsWaiting(): number {
    return (this.open?.rows ?? 0) + this.queuedRows;
  }

  /** Writes what is buffered; a call during a flush joins it. Resolves false when a write failed (kept, retried). */
  flush(): Promise<boolean> {
    if (!this.flushing) {
      this.flushing = this.drain().finally(() => {
        this.flushing = null;
        this.updateGauges();
      });
    }
    return this.flushing;
  }

  /**
   * Runs after the HTTP server has stopped taking requests (Nest closes the adapter before this hook, and
   * the webhook dispatcher waits for its deliveries in beforeApplicationShutdown), so every record is here.
   * Failed writes are retried for a short while; what is still not written then stays in the journal and
   * is replayed by the next instance that starts on this directory.
   */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const t of [this.timer, this.soonTimer]) if (t) clearTimeout(t);
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
    for (let attempt = 0; ; attempt++) {
      const done = (await this.flush()) && this.isEmpty();
      if (done) break;
      if (Date.now() >= deadline) {
        const rows = this.rowsWaiting;
        if (this.files) this.logger.error(`shutting down with ${rows} rows not written to the database: they stay in the journal (${this.files.dir}) for the next start`);
        else this.logger.error(`shutting down with ${rows} rows not written: the database did not accept them`);
        break;
      }
      await sleep(Math.min(100 * 2 ** attempt, 1000));
    }
    this.writePending();
    for (const seg of [...this.queue, ...(this.open ? [this.open] : [])]) this.closeFile(seg);
    this.files?.stop();
  }

  private isEmpty(): boolean {
    return this.queue.length === 0 && (this.open === null || this.isSegmentEmpty(this.open));
  }

  private isSegmentEmpty(seg: Segment): boolean {
    return this.parts.every((p, i) => p.isEmpty(seg.aggs[i]));
  }

  private openSegment(): Segment {
    const seq = ++this.seq;
    this.open = {
      id: `${this.instance}.${seq}`,
      path: this.files ? this.files.segmentPath(seq) : null,
      fd: null,
      bytes: 0,
      compactAt: COMPACT_SLACK_BYTES,
      rows: 0,
      aggs: this.parts.map((p) => p.create()),
      oldestAt: Date.now(),
      replayed: false,
    };
    return this.open;
  }

  private readonly writePendingNow = (): void => this.writePending();

  /** Hands the queued lines to the kernel in one write, then lets the answers waiting for them go. */
  private writePending(): void {
    this.writeScheduled = false;
    if (this.pending.length) {
      const seg = this.open!;
      const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
      const counted = this.pending.length;
      this.pending = [];
      this.pendingBytes = 0;
      try {
        if (seg.fd === null) {
          seg.fd = this.files!.create(seg.path!, seg.id);
          const header = statSync(seg.path!).size;
          seg.bytes += header;
          this.journalBytes += header;
        }
        const n = writeSync(seg.fd, text);
        seg.bytes += n;
        this.journalBytes += n;
        if (seg.bytes > seg.compactAt) this.compact(seg);
      } catch (err) {
        // The disk failed or is full: the counts are still in memory, as without a journal.
        this.journalBroken = true;
        this.metrics.unjournaled.inc(counted);
        this.logger.error(`journal write failed (${(err as Error).message}): counts are kept in memory only until a flush commits`);
      }
      this.metrics.journalBytes.set(this.journalBytes);
    }
    if (this.waiters.length) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const release of waiters) release();
    }
  }

  /** Rewrites a segment's file as its totals (one line per row), when its lines take far more room. */
  private compact(seg: Segment): void {
    if (!seg.path || !this.files) return;
    const body = this.parts.map((p, i) => p.dump(seg.aggs[i])).join('');
    if (seg.fd !== null) closeSync(seg.fd);
    seg.fd = null;
    const size = this.files.rewrite(seg.path, seg.id, body, this.journal.fsyncIntervalMs > 0);
    this.journalBytes += size - seg.bytes;
    seg.bytes = size;
    seg.compactAt = size * 2 + COMPACT_SLACK_BYTES;
    if (seg === this.open) seg.fd = openSync(seg.path, 'a');
    this.metrics.compactions.inc();
  }

  private unjournaled(): void {
    this.metrics.unjournaled.inc();
    const now = Date.now();
    if (now - this.lastBoundWarning >= WARNING_EVERY_MS) {
      this.lastBoundWarning = now;
      this.logger.error(
        this.journalBroken
          ? 'journal not writable: new counts are kept in memory only and would be lost if the process died'
          : `journal at its bound (JOURNAL_MAX_BYTES=${this.journal.maxBytes}): new counts are kept in memory only until the database accepts writes`,
      );
    }
  }

  private closeFile(seg: Segment): void {
    if (seg.fd !== null) closeSync(seg.fd);
    seg.fd = null;
  }

  /** Moves the open segment to the queue. While the database fails, its file is compacted to its totals. */
  private cut(): void {
    const seg = this.open;
    if (!seg || this.isSegmentEmpty(seg)) return;
    this.writePending();
    this.open = null;
    this.closeFile(seg);
    if (this.queue.length && seg.path && seg.bytes > 0) this.compact(seg);
    this.queue.push(seg);
    this.queuedRows += seg.rows;
  }

  private async drain(): Promise<boolean> {
    for (let round = 1; ; round++) {
      if (this.queue.length === 0) this.cut();
      if (this.queue.length === 0) return true;
      while (this.queue.length) {
        const seg = this.queue[0];
        const started = performance.now();
        let applied: boolean;
        try {
          applied = await this.write(seg);
        } catch (err) {
          this.failures++;
          const delay = Math.min(this.flushIntervalMs * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
          this.retryAt = Date.now() + delay * (0.75 + Math.random() * 0.5);
          this.metrics.failures.inc();
          this.logger.warn(
            `flush failed (${this.failures} in a row), ${this.rowsWaiting} rows kept${this.files ? ' (journaled)' : ''}, retrying in ${Math.round(delay)} ms: ${(err as Error)?.message}`,
          );
          return false;
        }
        this.queue.shift();
        this.queuedRows -= seg.rows;
        if (seg.path) this.files!.remove(seg.path);
        this.journalBytes -= seg.bytes;
        if (seg.replayed) this.metrics.replays.inc({ result: applied ? 'written' : 'already_written' });
        if (applied) {
          this.metrics.writtenRows.inc(seg.rows);
          this.metrics.flushDuration.observe((performance.now() - started) / 1000);
          this.parts.forEach((p, i) => p.committed?.(seg.aggs[i]));
        }
      }
      if (this.failures) this.logger.log(`flush recovered after ${this.failures} failed attempts`);
      this.failures = 0;
      this.retryAt = 0;
      // What arrived while writing goes out too, but under steady traffic the loop ends and leaves the
      // newest records to the next tick.
      if (this.open === null || this.isSegmentEmpty(this.open)) return true;
      if (!this.stopped && round >= 2 && this.open.rows < this.batchRows) return true;
    }
  }

  /** One transaction; false when the segment's id says it was applied before (its commit's answer was lost, or a crash came before its file was deleted). */
  private write(seg: Segment): Promise<boolean> {
    return this.tx.run(async (m) => {
      try {
        await m.query('INSERT INTO usage_flushes (id, created_at) VALUES (?, ?)', [seg.id, sqlTime(new Date())]);
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
      for (const i of this.writeOrder) {
        if (!this.parts[i].isEmpty(seg.aggs[i])) await this.parts[i].write(m, seg.aggs[i]);
      }
      return true;
    });
  }

  /** Queues the segments of dead instances found in the journal directory. */
  private claim(): void {
    if (!this.files) return;
    this.lastClaim = Date.now();
    let paths: string[];
    try {
      paths = this.files.claimDead();
    } catch (err) {
      this.logger.error(`could not read the journal directory ${this.files.dir}: ${(err as Error).message}`);
      return;
    }
    for (const path of paths) {
      const content = this.files.read(path);
      if (!content) {
        this.files.remove(path);
        continue;
      }
      const seg: Segment = {
        id: content.id,
        path,
        fd: null,
        bytes: statSync(path).size,
        compactAt: Infinity,
        rows: 0,
        aggs: this.parts.map((p) => p.create()),
        oldestAt: Date.now(),
        replayed: true,
      };
      let unknown = 0;
      for (const line of content.lines) {
        const index = this.byTag.get(line[0]);
        if (index === undefined || line[1] !== '\t') {
          unknown++;
          continue;
        }
        seg.rows += this.parts[index].replay(seg.aggs[index], line.slice(2));
      }
      if (unknown) this.logger.warn(`journal segment ${content.id}: ${unknown} lines of an unknown kind skipped`);
      this.journalBytes += seg.bytes;
      this.queue.push(seg);
      this.queuedRows += seg.rows;
      this.logger.log(`replaying journal segment ${content.id} (${content.lines.length} records, ${seg.rows} rows) left by an instance that stopped`);
    }
    if (paths.length) this.kick();
  }

  private kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    // Not on the request's own stack.
    setImmediate(() => {
      this.kicked = false;
      const seg = this.open;
      if (seg && seg.rows >= this.batchRows) this.cut();
      if (!this.flushing && Date.now() >= this.retryAt) void this.flush();
    });
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.files && Date.now() - this.lastClaim >= CLAIM_EVERY_MS) this.claim();
    if (Date.now() >= this.retryAt) await this.flush();
    this.updateGauges();
    this.schedule(this.retryAt > Date.now() ? Math.min(this.retryAt - Date.now(), this.flushIntervalMs) : this.flushIntervalMs);
  }

  private updateGauges(): void {
    this.metrics.rowsWaiting.set(this.rowsWaiting);
    this.metrics.journalBytes.set(this.journalBytes);
    const oldest = Math.min(this.queue[0]?.oldestAt ?? Infinity, this.open && !this.isSegmentEmpty(this.open) ? this.open.oldestAt : Infinity);
    this.metrics.lag.set(Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) / 1000 : 0);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
