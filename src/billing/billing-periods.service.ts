import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { AppException } from '../common/app.exception';
import { retryingDeadlocks } from '../database/retry';
import { newId } from '../common/ids';
import { dialectOf } from '../database/dialect';
import { sqlTime, toDate } from '../database/sql';
import { Plan } from '../plans/plan.entity';
import { PlanSnapshot, snapshotOf } from '../plans/plan-snapshot';
import { BillingPeriod } from './billing-period.entity';
import { firstPeriod, nextPeriod, Period } from '../periods/periods';

type Db = DataSource | EntityManager;

/** What opening a consumer's periods needs to know about it. */
export interface BillableConsumer {
  id: string;
  createdAt: Date;
  billingAnchorDay: number;
  planId: string | null;
}

const CONSUMERS_PER_PAGE = 500;
const ROWS_PER_INSERT = 500;

export function quoteName(db: Db, name: string): string {
  return dialectOf(db).quote(name);
}

function toConsumer(row: { id: string; created_at: unknown; billing_anchor_day: unknown; plan_id: string | null }): BillableConsumer {
  return { id: row.id, createdAt: toDate(row.created_at), billingAnchorDay: Number(row.billing_anchor_day), planId: row.plan_id };
}

/**
 * Opens billing periods. Each consumer's periods follow each other without gaps from its creation; a
 * period is opened when first needed (by the scheduler, or lazily by whatever reads billing) and keeps a
 * snapshot of the plan the consumer is on at that moment. Opening is idempotent and safe to run from
 * several instances at once: the unique (consumer_id, start) index drops a second copy.
 */
@Injectable()
export class BillingPeriodsService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Opens this consumer's missing periods up to the one containing `now`; NOT_FOUND if it does not exist. */
  async ensureConsumer(consumerId: string, now = new Date()): Promise<void> {
    const [row] = await this.dataSource.query(
      'SELECT id, created_at, billing_anchor_day, plan_id FROM consumers WHERE id = ?',
      [consumerId],
    );
    if (!row) throw AppException.notFound('Consumer');
    await this.openFor(this.dataSource, [toConsumer(row)], now);
  }

  /**
   * Opens the missing periods of every consumer, a page at a time. Consumers whose current period exists
   * already cost one indexed look-up each, inside one query per page.
   */
  async ensureAll(now = new Date()): Promise<number> {
    let after = '';
    let opened = 0;
    for (;;) {
      const rows = await this.dataSource.query(
        `SELECT c.id, c.created_at, c.billing_anchor_day, c.plan_id FROM consumers c
         WHERE c.id > ? AND NOT EXISTS (SELECT 1 FROM billing_periods p WHERE p.consumer_id = c.id AND p.${quoteName(this.dataSource, 'end')} > ?)
         ORDER BY c.id LIMIT ${CONSUMERS_PER_PAGE}`,
        [after, sqlTime(now)],
      );
      if (rows.length === 0) return opened;
      opened += await this.openFor(this.dataSource, rows.map(toConsumer), now);
      after = rows[rows.length - 1].id;
      if (rows.length < CONSUMERS_PER_PAGE) return opened;
    }
  }

  /** Opens, for each consumer, every period after its latest one up to the period containing `now`. */
  async openFor(db: Db, consumers: readonly BillableConsumer[], now: Date): Promise<number> {
    if (consumers.length === 0) return 0;
    const q = (n: string) => quoteName(db, n);
    const ids = consumers.map((c) => c.id);
    const latestRows: { consumer_id: string; start: unknown; end: unknown }[] = await db.query(
      `SELECT p.consumer_id, p.start, p.${q('end')} AS ${q('end')} FROM billing_periods p
       WHERE p.consumer_id IN (${ids.map(() => '?').join(', ')})
       AND p.start = (SELECT MAX(l.start) FROM billing_periods l WHERE l.consumer_id = p.consumer_id)`,
      ids,
    );
    const latest = new Map<string, Period>(latestRows.map((r) => [r.consumer_id, { start: toDate(r.start), end: toDate(r.end) }]));

    const missing: { consumer: BillableConsumer; period: Period }[] = [];
    for (const consumer of consumers) {
      let period = latest.get(consumer.id);
      if (!period) {
        period = firstPeriod(consumer.billingAnchorDay, consumer.createdAt);
        missing.push({ consumer, period });
      }
      while (period.end <= now) {
        period = nextPeriod(consumer.billingAnchorDay, period);
        missing.push({ consumer, period });
      }
    }
    if (missing.length === 0) return 0;

    const planIds = [...new Set(missing.map((m) => m.consumer.planId).filter((id): id is string => id !== null))];
    const plans = planIds.length ? await db.getRepository(Plan).findBy({ id: In(planIds) }) : [];
    const snapshots = new Map<string, PlanSnapshot>(plans.map((p) => [p.id, snapshotOf(p)]));
    const createdAt = sqlTime(now);
    const rows = missing.map(({ consumer, period }) => {
      const snapshot = consumer.planId ? snapshots.get(consumer.planId) ?? null : null;
      return [
        newId('per', now.getTime()),
        consumer.id,
        sqlTime(period.start),
        sqlTime(period.end),
        'open',
        snapshot ? snapshot.id : null,
        snapshot ? JSON.stringify(snapshot) : null,
        createdAt,
      ];
    });
    const columns = ['id', 'consumer_id', 'start', 'end', 'status', 'plan_id', 'plan_snapshot', 'created_at'].map(q).join(', ');
    const conflict = dialectOf(db).insertIgnoreTail(['consumer_id', 'start']);
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const chunk = rows.slice(i, i + ROWS_PER_INSERT);
      const sql = `INSERT INTO billing_periods (${columns}) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}${conflict}`;
      // Two instances opening the same periods at once can deadlock on the unique index; the retry finds them opened.
      await retryingDeadlocks(() => db.query(sql, chunk.flat()), 3);
    }
    return rows.length;
  }

  async find(db: Db, id: string): Promise<BillingPeriod> {
    const period = await db.getRepository(BillingPeriod).findOneBy({ id });
    if (!period) throw AppException.notFound('Billing period');
    return period;
  }

  /** The open period containing `now` (opened first if need be). */
  async current(consumerId: string, now = new Date()): Promise<BillingPeriod> {
    await this.ensureConsumer(consumerId, now);
    const period = await this.dataSource
      .getRepository(BillingPeriod)
      .createQueryBuilder('p')
      .where('p.consumerId = :consumerId', { consumerId })
      .andWhere('p.start <= :now', { now: sqlTime(now) })
      .orderBy('p.start', 'DESC')
      .getOne();
    if (!period) throw AppException.notFound('Billing period');
    return period;
  }

  /** Consumers, by id, with the columns opening periods needs; for paging over all of them. */
  async consumersAfter(after: string, limit = CONSUMERS_PER_PAGE, onlyId?: string): Promise<(BillableConsumer & { externalId: string | null })[]> {
    const rows = await this.dataSource.query(
      `SELECT id, external_id, created_at, billing_anchor_day, plan_id FROM consumers WHERE id > ?${onlyId ? ' AND id = ?' : ''} ORDER BY id LIMIT ${Number(limit)}`,
      onlyId ? [after, onlyId] : [after],
    );
    return rows.map((r: { external_id: string | null } & Parameters<typeof toConsumer>[0]) => ({ ...toConsumer(r), externalId: r.external_id }));
  }
}
