import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import type { AuthKey } from '../auth/auth-key';
import { canonicalJson } from '../audit/canonical';
import { AppException } from '../common/app.exception';
import { isDuplicateKey } from '../common/db-errors';
import { ErrorCode } from '../common/error-code';
import { usageConfig } from '../config/settings';
import { dialectOf } from '../database/dialect';
import { sqlTime, toDate } from '../database/sql';
import { retrying } from '../database/retry';
import { Transactions } from '../database/transactions';
import { QuotaService } from '../rate-limit/quota/quota.service';
import { UsageEventResultDto } from './dto/usage-events.dto';
import { addRollups, compareRollups, RollupRow } from './usage-batch';
import { checkEvent, UsageEvent } from './usage-event';

const CHUNK = 500;
/** Inserting a key another instance inserted meanwhile fails on the unique index; start over that many times. */
const MAX_ATTEMPTS = 5;

const accepted = (e: UsageEvent): UsageEventResultDto => ({ index: e.index, idempotencyKey: e.idempotencyKey, status: 'accepted' });
const duplicate = (e: UsageEvent): UsageEventResultDto => ({ index: e.index, idempotencyKey: e.idempotencyKey, status: 'duplicate' });
const rejected = (e: { index: number; idempotencyKey: string | null }, code: ErrorCode, message: string): UsageEventResultDto => ({
  index: e.index,
  idempotencyKey: e.idempotencyKey,
  status: 'rejected',
  error: { code, message },
});

/**
 * Reported usage events: validated one by one, de-duplicated per consumer by idempotency key, and
 * committed together with their rollup increments before the answer.
 */
@Injectable()
export class UsageEventsService {
  private readonly backfillDays: number;

  constructor(
    private readonly tx: Transactions,
    private readonly quotas: QuotaService,
    @Inject(usageConfig.KEY) usage: ConfigType<typeof usageConfig>,
  ) {
    this.backfillDays = usage.backfillDays;
  }

  async ingest(key: AuthKey, raw: unknown[], now = Date.now()): Promise<UsageEventResultDto[]> {
    const results: UsageEventResultDto[] = new Array(raw.length);
    const valid: UsageEvent[] = [];
    raw.forEach((item, index) => {
      const check = checkEvent(item, index, now, this.backfillDays);
      if (check.ok) valid.push(check.event);
      else results[index] = rejected(check.rejection, check.rejection.code, check.rejection.message);
    });
    if (valid.length) {
      for (const r of await this.store(key, valid, now)) results[r.index] = r;
    }
    return results;
  }

  /**
   * The unique index on (consumer, idempotency key) is the arbiter: when another request (on any
   * instance) commits one of our keys between our read and our insert, the insert fails, the
   * transaction rolls back, and the next attempt sees that row and compares fingerprints.
   *
   * Quota is taken inside the transaction (an event that does not fit is refused there), and given back
   * for every event that ends up not stored by this request — the whole batch when the transaction fails
   * for good, an event found stored by a concurrent request on a retry — so that a retried batch is
   * charged once against the quota, as it is counted once in usage.
   */
  private async store(key: AuthKey, events: UsageEvent[], now: number): Promise<UsageEventResultDto[]> {
    // Quota decisions survive a retry, so an event is never charged against the quota twice.
    const charged = new Map<string, { metric: string; quantity: number } | null>();
    let stored: Set<string> = new Set();
    try {
      const results = await retrying(
        () =>
          this.tx.run(async (m) => {
            const outcome = await this.storeOnce(m, key, events, now, charged);
            stored = outcome.inserted;
            return outcome.results;
          }),
        { attempts: MAX_ATTEMPTS, when: isDuplicateKey },
      );
      await this.refund(key, charged, stored);
      return results;
    } catch (err) {
      await this.refund(key, charged, new Set());
      throw err;
    }
  }

  /** Gives back the quota of charged events that this request did not store, per metric. */
  private async refund(key: AuthKey, charged: Map<string, { metric: string; quantity: number } | null>, stored: Set<string>): Promise<void> {
    const back = new Map<string, number>();
    for (const [k, c] of charged) if (c && !stored.has(k)) back.set(c.metric, (back.get(c.metric) ?? 0) + c.quantity);
    for (const [metric, units] of back) await this.quotas.refund(key, metric, units);
  }

  private async storeOnce(
    m: EntityManager,
    key: AuthKey,
    events: UsageEvent[],
    now: number,
    charged: Map<string, { metric: string; quantity: number } | null>,
  ): Promise<{ results: UsageEventResultDto[]; inserted: Set<string> }> {
    const consumerId = key.consumer!.id;
    // A shared lock on the consumer orders this batch against a concurrent delete, which locks the row for
    // update: either the delete sees the rollups written here and refuses, or this batch finds the consumer
    // (and so the key) gone. Without it, events could land as rows of a consumer that no longer exists.
    const [consumer] = await m.query(`SELECT id FROM consumers WHERE id = ?${dialectOf(m).forShare()}`, [consumerId]);
    if (!consumer) throw new AppException(ErrorCode.INVALID_API_KEY, 'The API key is not valid');
    // The first event with a key is the one that may be stored; later ones in the batch compare to it.
    const firsts = new Map<string, UsageEvent>();
    for (const e of events) if (!firsts.has(e.idempotencyKey)) firsts.set(e.idempotencyKey, e);

    const stored = await this.storedFingerprints(m, consumerId, [...firsts.keys()]);
    const fresh = [...firsts.values()].filter((e) => !stored.has(e.idempotencyKey));
    const closed = await this.closedPeriods(m, consumerId, fresh);
    const inClosed = new Set(fresh.filter((e) => closed.some((p) => p.start <= e.at && e.at < p.end)).map((e) => e.idempotencyKey));
    const candidates = fresh.filter((e) => !inClosed.has(e.idempotencyKey));
    // A plan quota on the event's metric is a hard cap: an event that does not fit is refused, its
    // neighbours are still judged one by one (a smaller one after it may fit). null = refused.
    for (const e of candidates) {
      if (charged.has(e.idempotencyKey) || !this.quotas.hasQuota(key, e.metric)) continue;
      const decision = await this.quotas.consume(key, e.metric, e.quantity);
      charged.set(e.idempotencyKey, decision.allowed ? { metric: e.metric, quantity: e.quantity } : null);
    }
    const quotaRefused = (k: string) => charged.has(k) && charged.get(k) === null;
    const toInsert = candidates.filter((e) => !quotaRefused(e.idempotencyKey));

    await this.insertEvents(m, key, toInsert, now);
    await addRollups(m, rollupsOf(key, toInsert));

    const results = events.map((e) => {
      const previous = stored.get(e.idempotencyKey);
      if (previous !== undefined) {
        return previous === e.fingerprint
          ? duplicate(e)
          : rejected(e, ErrorCode.CONFLICT, 'idempotencyKey was already used for an event with different content');
      }
      const first = firsts.get(e.idempotencyKey)!;
      if (first !== e && first.fingerprint !== e.fingerprint) {
        return rejected(e, ErrorCode.CONFLICT, 'idempotencyKey is used by an earlier event of this batch with different content');
      }
      if (inClosed.has(e.idempotencyKey)) {
        return rejected(e, ErrorCode.PERIOD_CLOSED, 'timestamp falls in a billing period that is already closed');
      }
      if (quotaRefused(e.idempotencyKey)) {
        return rejected(e, ErrorCode.QUOTA_EXCEEDED, `the plan's quota on ${e.metric} for this billing period is used up`);
      }
      return first === e ? accepted(e) : duplicate(e);
    });
    return { results, inserted: new Set(toInsert.map((e) => e.idempotencyKey)) };
  }

  private async storedFingerprints(m: EntityManager, consumerId: string, keys: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      const rows: { k: string; f: string }[] = await m.query(
        `SELECT idempotency_key AS k, fingerprint AS f FROM usage_events WHERE consumer_id = ? AND idempotency_key IN (${chunk.map(() => '?').join(', ')})`,
        [consumerId, ...chunk],
      );
      for (const r of rows) out.set(String(r.k), String(r.f));
    }
    return out;
  }

  /**
   * Periods of the consumer overlapping the events' dates, read with a shared lock (MySQL),
   * so that a close running at the same moment waits for this batch (and then bills it) or, having
   * closed first, is seen as closed here.
   */
  private async closedPeriods(m: EntityManager, consumerId: string, events: UsageEvent[]): Promise<{ start: number; end: number }[]> {
    if (!events.length) return [];
    let min = Infinity;
    let max = -Infinity;
    for (const e of events) {
      if (e.at < min) min = e.at;
      if (e.at > max) max = e.at;
    }
    const dialect = dialectOf(m);
    const q = dialect.quote;
    const rows: { s: unknown; e: unknown; status: string }[] = await m.query(
      `SELECT ${q('start')} AS s, ${q('end')} AS e, status FROM billing_periods WHERE consumer_id = ? AND ${q('start')} <= ? AND ${q('end')} > ?${dialect.forShare()}`,
      [consumerId, sqlTime(new Date(max)), sqlTime(new Date(min))],
    );
    return rows.filter((r) => r.status === 'closed').map((r) => ({ start: toDate(r.s).getTime(), end: toDate(r.e).getTime() }));
  }

  private async insertEvents(m: EntityManager, key: AuthKey, events: UsageEvent[], now: number): Promise<void> {
    if (!events.length) return;
    const ts = dialectOf(m).quote('timestamp');
    const createdAt = sqlTime(new Date(now));
    // Byte order of the keys (the order of the unique index), so concurrent inserts lock alike.
    const sorted = [...events].sort((a, b) => Buffer.compare(Buffer.from(a.idempotencyKey), Buffer.from(b.idempotencyKey)));
    for (let i = 0; i < sorted.length; i += CHUNK) {
      const chunk = sorted.slice(i, i + CHUNK);
      const params: unknown[] = [];
      for (const e of chunk) {
        params.push(
          key.consumer!.id,
          e.idempotencyKey,
          key.id,
          key.environment,
          e.metric,
          e.quantity,
          sqlTime(new Date(e.at)),
          e.properties ? canonicalJson(e.properties) : null,
          e.fingerprint,
          createdAt,
        );
      }
      await m.query(
        `INSERT INTO usage_events (consumer_id, idempotency_key, key_id, environment, metric, quantity, ${ts}, properties, fingerprint, created_at) VALUES ${chunk
          .map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .join(', ')}`,
        params,
      );
    }
  }
}

/** Accepted events summed into per-minute counters of the reporting key. */
function rollupsOf(key: AuthKey, events: UsageEvent[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const e of events) {
    const bucket = Math.floor(e.at / 60_000);
    const id = `${bucket}\u0000${e.metric}`;
    const row = rows.get(id);
    if (row) row.quantity += e.quantity;
    else rows.set(id, { consumer_id: key.consumer!.id, bucket, metric: e.metric, key_id: key.id, environment: key.environment, quantity: e.quantity });
  }
  return [...rows.values()].sort(compareRollups);
}
