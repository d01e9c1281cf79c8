import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EntityManager } from 'typeorm';
import { rowsOfExisting, upsertAdd } from '../../database/sql';
import { BufferedWriter, type PartHandle } from '../../writer/buffered-writer.service';
import type { WriterPart } from '../../writer/writer-part';
import { isRefusal, refusalOf, RefusalOutcome } from './key-outcome';

type OutcomeRow = {
  key_id: string;
  bucket: number;
  outcome: RefusalOutcome;
  quantity: number;
};

type OutcomeAggregate = Map<string, OutcomeRow>;

/**
 * Counts requests refused with a known key (401 revoked/expired, 403, 429) per key, minute and outcome,
 * the way UsageRecorder counts admitted ones: in the buffered writer's open segment, journaled before the
 * refusal is sent, written in multi-row upserts that add. These counts are never billed. Counts of keys
 * deleted since they were counted (a consumer delete takes its keys' counts with it) are dropped, so no
 * row outlives its key.
 */
@Injectable()
export class KeyOutcomeRecorder implements OnModuleInit, WriterPart<OutcomeAggregate> {
  readonly tag = 'o';
  private readonly handle: PartHandle<OutcomeAggregate>;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly writer: BufferedWriter,
  ) {
    this.handle = writer.register(this);
  }

  /**
   * Runs before the server listens; Fastify applies root hooks to every route when it becomes ready. In
   * onSend, not onResponse: the count is recorded (and journaled by the writer's onSend hook, registered
   * after this one) before the refusal leaves.
   */
  onModuleInit(): void {
    const fastify: FastifyInstance = this.adapterHost.httpAdapter.getInstance();
    fastify.decorateRequest('errorCode', undefined);
    fastify.decorateRequest('admitted', false);
    // A callback hook: no promise per request, and nothing at all for answers other than 401/403/429.
    fastify.addHook('onSend', (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) => {
      const refusal = refusalOf(request, reply.statusCode);
      if (refusal) this.record(refusal.keyId, refusal.outcome);
      done(null, payload);
    });
  }

  /** Counts one refusal of `keyId` at `at` (ms). O(1), no I/O. */
  record(keyId: string, outcome: RefusalOutcome, at = Date.now()): void {
    const agg = this.writer.current(this.handle);
    const bucket = Math.floor(at / 60_000);
    const line = `o\t${keyId}\t${bucket}\t${outcome}\n`;
    const id = `${keyId}\u0000${bucket}\u0000${outcome}`;
    const row = agg.get(id);
    if (row) {
      row.quantity++;
      this.writer.append(line, 0);
    } else if (this.writer.full) {
      this.writer.drop(1);
    } else {
      agg.set(id, { key_id: keyId, bucket, outcome, quantity: 1 });
      this.writer.append(line, 1);
    }
  }

  flush(): Promise<boolean> {
    return this.writer.flush();
  }

  create(): OutcomeAggregate {
    return new Map();
  }

  replay(agg: OutcomeAggregate, line: string): number {
    const [keyId, bucket, outcome, quantity] = line.split('\t');
    if (!isRefusal(outcome)) return 0;
    const id = `${keyId}\u0000${bucket}\u0000${outcome}`;
    const n = quantity === undefined ? 1 : Number(quantity);
    const row = agg.get(id);
    if (row) {
      row.quantity += n;
      return 0;
    }
    agg.set(id, { key_id: keyId, bucket: Number(bucket), outcome, quantity: n });
    return 1;
  }

  dump(agg: OutcomeAggregate): string {
    let out = '';
    for (const r of agg.values()) out += `o\t${r.key_id}\t${r.bucket}\t${r.outcome}\t${r.quantity}\n`;
    return out;
  }

  isEmpty(agg: OutcomeAggregate): boolean {
    return agg.size === 0;
  }

  async write(m: EntityManager, agg: OutcomeAggregate): Promise<void> {
    // Sorted by primary key so that instances writing at once lock rows in the same order.
    const rows = [...agg.values()].sort((a, b) =>
      a.key_id !== b.key_id ? (a.key_id < b.key_id ? -1 : 1) : a.bucket !== b.bucket ? a.bucket - b.bucket : a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : 0,
    );
    // On MySQL the keys are read under a shared lock: a consumer delete (which deletes its keys before
    // their counts) either waits for this write and then deletes what it wrote, or commits first and the
    // keys are not found here.
    const kept = await rowsOfExisting(m, 'api_keys', rows, (r) => r.key_id);
    await upsertAdd(m, 'key_outcomes', ['key_id', 'bucket', 'outcome'], ['quantity'], [], kept);
  }
}
