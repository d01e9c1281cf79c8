import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { usageConfig } from '../../config/settings';
import { rowsOfExisting, upsertAdd } from '../../database/sql';
import { Transactions } from '../../database/transactions';
import { refusalOf, RefusalOutcome } from './key-outcome';

/** Distinct (key, minute, outcome) counters held at most; refusals for new ones are dropped past it. */
const MAX_ROWS = 100_000;
const SHUTDOWN_ATTEMPTS = 5;

type OutcomeRow = {
  key_id: string;
  bucket: number;
  outcome: RefusalOutcome;
  quantity: number;
};

/**
 * Counts requests refused with a known key (401 revoked/expired, 403, 429) per key, minute and outcome,
 * the way UsageRecorder counts admitted ones: in memory on the request path, written in multi-row
 * upserts that add, once per usage flush interval and on shutdown. A failed write keeps its counts for
 * the next one. These counts are never billed. Counts of keys deleted since they were counted (a consumer
 * delete takes its keys' counts with it) are dropped, so no row outlives its key.
 */
@Injectable()
export class KeyOutcomeRecorder implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('KeyOutcomes');
  private readonly intervalMs: number;
  private buffer = new Map<string, OutcomeRow>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<boolean> | null = null;
  private stopped = false;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly tx: Transactions,
    @Inject(usageConfig.KEY) usage: ConfigType<typeof usageConfig>,
  ) {
    this.intervalMs = usage.flushIntervalMs;
  }

  /** Runs before the server listens; Fastify applies root hooks to every route when it becomes ready. */
  onModuleInit(): void {
    const fastify: FastifyInstance = this.adapterHost.httpAdapter.getInstance();
    fastify.decorateRequest('errorCode', undefined);
    fastify.decorateRequest('admitted', false);
    // A callback hook: no promise per request, and nothing at all for answers other than 401/403/429.
    fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const refusal = refusalOf(request, reply.statusCode);
      if (refusal) this.record(refusal.keyId, refusal.outcome);
      done();
    });
    this.schedule();
  }

  /** Counts one refusal of `keyId` at `at` (ms). O(1), no I/O. */
  record(keyId: string, outcome: RefusalOutcome, at = Date.now()): void {
    const bucket = Math.floor(at / 60_000);
    const id = `${keyId}\u0000${bucket}\u0000${outcome}`;
    const row = this.buffer.get(id);
    if (row) row.quantity++;
    else if (this.buffer.size < MAX_ROWS) this.buffer.set(id, { key_id: keyId, bucket, outcome, quantity: 1 });
  }

  /** Writes what is buffered; a call during a flush joins it. Resolves false when the write failed. */
  flush(): Promise<boolean> {
    this.flushing ??= this.write().finally(() => (this.flushing = null));
    return this.flushing;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (let attempt = 0; attempt < SHUTDOWN_ATTEMPTS; attempt++) {
      if ((await this.flush()) && this.buffer.size === 0) return;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
    this.logger.warn(`shutting down with ${this.buffer.size} key outcome counters not written`);
  }

  private async write(): Promise<boolean> {
    if (this.buffer.size === 0) return true;
    const taken = this.buffer;
    this.buffer = new Map();
    // Sorted by primary key so that instances writing at once lock rows in the same order.
    const rows = [...taken.values()].sort((a, b) =>
      a.key_id !== b.key_id ? (a.key_id < b.key_id ? -1 : 1) : a.bucket !== b.bucket ? a.bucket - b.bucket : a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : 0,
    );
    try {
      await this.tx.run(async (m) => {
        // On MySQL the keys are read under a shared lock: a consumer delete (which deletes its keys before
        // their counts) either waits for this write and then deletes what it wrote, or commits first and
        // the keys are not found here.
        const kept = await rowsOfExisting(m, 'api_keys', rows, (r) => r.key_id);
        await upsertAdd(m, 'key_outcomes', ['key_id', 'bucket', 'outcome'], ['quantity'], [], kept);
      });
      return true;
    } catch (err) {
      // Put the counts back, merged with what arrived meanwhile.
      for (const [id, row] of taken) {
        const now = this.buffer.get(id);
        if (now) now.quantity += row.quantity;
        else if (this.buffer.size < MAX_ROWS) this.buffer.set(id, row);
      }
      this.logger.warn(`key outcome flush failed, ${this.buffer.size} counters kept: ${(err as Error)?.message}`);
      return false;
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.flush().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
