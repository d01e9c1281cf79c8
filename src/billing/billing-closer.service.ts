import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Actor, SYSTEM_ACTOR } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { isDuplicateKey } from '../common/db-errors';
import { retryingDeadlocks } from '../database/retry';
import { newId } from '../common/ids';
import { dialectOf } from '../database/dialect';
import { sqlTime, toDate } from '../database/sql';
import { Transactions } from '../database/transactions';
import type { PlanSnapshot } from '../plans/plan-snapshot';
import { BillingPeriod } from './billing-period.entity';
import { BillingPeriodsService, quoteName } from './billing-periods.service';
import { BillingService } from './billing.service';
import type { BilledInvoice } from './billing.types';
import { BillingPeriodDto } from './dto/billing-period.dto';
import { buildInvoice } from './invoice-builder';
import { measurePeriods } from './period-usage';

const PERIODS_PER_BATCH = 500;
/**
 * Batches closed at once on MySQL. Two overlap the database's aggregation with the pricing and JSON
 * work here; SKIP LOCKED keeps them on different periods. SQLite has one connection: one at a time.
 */
const MYSQL_CLOSE_WORKERS = 2;

type PeriodRow = Pick<BillingPeriod, 'id' | 'consumerId' | 'start' | 'end' | 'status' | 'planSnapshot'>;

/** A billing_periods row as a raw query returns it. */
export interface RawPeriod {
  id: string;
  consumer_id: string;
  start: unknown;
  end: unknown;
  status: 'open' | 'closed';
  plan_snapshot: string | null;
}

function toRow(r: RawPeriod): PeriodRow {
  return {
    id: r.id,
    consumerId: r.consumer_id,
    start: toDate(r.start),
    end: toDate(r.end),
    status: r.status,
    planSnapshot: r.plan_snapshot ? (JSON.parse(r.plan_snapshot) as PlanSnapshot) : null,
  };
}

/**
 * Closes billing periods: measures usage, prices it with the period's plan snapshot, writes the invoice
 * and marks the period closed, in one transaction. On MySQL the period rows are locked first
 * (SELECT … FOR UPDATE), so a concurrent close waits and then finds the period closed; on SQLite
 * transactions are serialized anyway. The unique index on invoices.period_id is the backstop: a
 * duplicate means another close won, and its invoice stands.
 */
@Injectable()
export class BillingCloser {
  private readonly logger = new Logger(BillingCloser.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly audit: AuditService,
    private readonly periods: BillingPeriodsService,
    private readonly billing: BillingService,
  ) {}

  /**
   * Closes a period by hand, even before its end (what is metered after that is carried into the next
   * period). Earlier periods of the consumer that are still open are closed first, because each period
   * measures what arrived late against the one before it. Closing a closed period returns it unchanged.
   */
  async close(actor: Actor, periodId: string): Promise<BillingPeriodDto> {
    const period = await this.periods.find(this.dataSource, periodId);
    if (period.status === 'open') {
      for (;;) {
        const [earlier] = await this.dataSource.query(
          `SELECT id FROM billing_periods WHERE consumer_id = ? AND status = 'open' AND start < ? ORDER BY start LIMIT 1`,
          [period.consumerId, sqlTime(period.start)],
        );
        if (!earlier) break;
        await this.closeOne(actor, earlier.id);
      }
      await this.closeOne(actor, periodId);
    }
    return this.billing.getPeriod(periodId);
  }

  private async closeOne(actor: Actor, id: string): Promise<void> {
    try {
      await this.tx.run(async (m) => {
        const [row] = await this.lock(m, 'p.id = ?', [id], '');
        if (!row || row.status !== 'open') return;
        const [invoice] = await this.closeLocked(m, [row], new Date());
        await this.audit.record(m, actor, {
          action: 'billing_period.close',
          targetType: 'billing_period',
          targetId: id,
          before: { status: 'open' },
          after: { status: 'closed', invoiceId: invoice.id, currency: invoice.currency, totalMinor: invoice.totalMinor },
        });
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      this.logger.log(`period ${id} was closed concurrently; keeping the invoice already written`);
    }
  }

  /**
   * Closes every open period that ended at or before `cutoff`, in batches of a few hundred, each batch
   * one transaction with one aggregation query per page of consumers. Several instances can run this at
   * once: on MySQL each skips the rows another has locked (SKIP LOCKED). A period waits while an earlier
   * one of the same consumer is still open, so that periods close in order.
   */
  async closeDue(cutoff: Date, now = new Date()): Promise<number> {
    const workers = dialectOf(this.dataSource).serializesTransactions ? 1 : MYSQL_CLOSE_WORKERS;
    const closed = await Promise.all(Array.from({ length: workers }, () => this.closeDueBatches(cutoff, now)));
    return closed.reduce((a, b) => a + b, 0);
  }

  /** Closes batches until none is left that another worker has not locked. */
  private async closeDueBatches(cutoff: Date, now: Date): Promise<number> {
    let closed = 0;
    for (;;) {
      const n = await this.batchTransaction(async (m) => {
        const q = (name: string) => quoteName(m, name);
        const rows = await this.lock(
          m,
          `p.status = 'open' AND p.${q('end')} <= ? AND NOT EXISTS (
             SELECT 1 FROM billing_periods e WHERE e.consumer_id = p.consumer_id AND e.status = 'open' AND e.start < p.start)`,
          [sqlTime(cutoff)],
          ` ORDER BY p.${q('end')}, p.id LIMIT ${PERIODS_PER_BATCH}`,
          true,
        );
        if (rows.length === 0) return 0;
        await this.closeLocked(m, rows, now);
        await this.audit.record(m, SYSTEM_ACTOR, {
          action: 'billing_period.close_batch',
          targetType: 'billing_period',
          targetId: null,
          after: { closed: rows.length, cutoff: cutoff.toISOString(), periodIds: rows.map((r) => r.id) },
        });
        return rows.length;
      });
      if (n === 0) return closed;
      closed += n;
    }
  }

  /**
   * One batch's transaction. On MySQL it runs at READ COMMITTED: without gap locks, workers that skip
   * each other's locked periods do not also block each other's index updates (at REPEATABLE READ they
   * deadlock). Nothing here needs more: the periods are locked, and what is read around them is
   * committed data. SQLite serializes transactions anyway.
   */
  private async batchTransaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    if (dialectOf(this.dataSource).serializesTransactions) return this.tx.run(work);
    return retryingDeadlocks(() => this.dataSource.transaction('READ COMMITTED', work));
  }

  private async lock(m: EntityManager, where: string, params: unknown[], tail: string, skipLocked = false): Promise<PeriodRow[]> {
    const q = (name: string) => quoteName(m, name);
    const locking = dialectOf(m).forUpdate({ skipLocked });
    const rows: RawPeriod[] = await m.query(
      `SELECT p.id, p.consumer_id, p.start, p.${q('end')} AS ${q('end')}, p.status, p.plan_snapshot FROM billing_periods p WHERE ${where}${tail}${locking}`,
      params,
    );
    return rows.map(toRow);
  }

  /** Prices and writes the invoices of locked open periods, and marks them closed. */
  private async closeLocked(m: EntityManager, rows: PeriodRow[], now: Date): Promise<BilledInvoice[]> {
    const q = (name: string) => quoteName(m, name);
    const usage = await measurePeriods(m, rows, now);
    const invoices = rows.map((p) => {
      const measured = usage.get(p.id)!;
      return { invoice: buildInvoice(p, measured, 'closed', newId('inv', now.getTime())), rangeUsage: measured.closing };
    });
    const at = sqlTime(now);
    const columns = ['id', 'period_id', 'consumer_id', 'currency', 'period_start', 'period_end', 'lines', 'total_minor', 'range_usage', 'created_at'];
    const values = invoices.map(({ invoice: i, rangeUsage }) => [
      i.id,
      i.periodId,
      i.consumerId,
      i.currency,
      sqlTime(new Date(i.periodStart)),
      sqlTime(new Date(i.periodEnd)),
      JSON.stringify(i.lines),
      i.totalMinor,
      JSON.stringify(rangeUsage),
      at,
    ]);
    await m.query(
      `INSERT INTO invoices (${columns.map(q).join(', ')}) VALUES ${values.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ')}`,
      values.flat(),
    );
    await m.query(
      `UPDATE billing_periods SET status = 'closed', closed_at = ? WHERE status = 'open' AND id IN (${rows.map(() => '?').join(', ')})`,
      [at, ...rows.map((r) => r.id)],
    );
    return invoices.map((i) => i.invoice);
  }
}
