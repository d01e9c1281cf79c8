import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, In, LessThan } from 'typeorm';
import { AppException } from '../common/app.exception';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { sqlTime } from '../database/sql';
import { BillingPeriod } from './billing-period.entity';
import { BillingPeriodsService } from './billing-periods.service';
import type { BilledInvoice } from './billing.types';
import { BillingPeriodDto } from './dto/billing-period.dto';
import { ListPeriodsQueryDto } from './dto/list-periods-query.dto';
import { buildInvoice } from './invoice-builder';
import { Invoice } from './invoice.entity';
import { measurePeriods } from './period-usage';
import { monthRange } from '../periods/periods';

type Db = DataSource | EntityManager;

export function invoiceOf(inv: Invoice): BilledInvoice {
  return {
    id: inv.id,
    periodId: inv.periodId,
    consumerId: inv.consumerId,
    currency: inv.currency,
    periodStart: inv.periodStart.toISOString(),
    periodEnd: inv.periodEnd.toISOString(),
    status: 'closed',
    lines: inv.lines,
    totalMinor: inv.totalMinor,
  };
}

export function periodDto(p: BillingPeriod, invoice: BilledInvoice): BillingPeriodDto {
  return {
    id: p.id,
    consumerId: p.consumerId,
    start: p.start.toISOString(),
    end: p.end.toISOString(),
    status: p.status,
    planId: p.planId,
    plan: p.planSnapshot,
    closedAt: p.closedAt ? p.closedAt.toISOString() : null,
    createdAt: p.createdAt.toISOString(),
    invoice,
  };
}

/**
 * Each period's invoice: the stored one when closed, otherwise a live estimate priced exactly as the
 * close would price it now. Reads a page of periods with a few queries, whatever their number.
 */
export async function invoicesFor(db: Db, periods: readonly BillingPeriod[]): Promise<Map<string, BilledInvoice>> {
  const out = new Map<string, BilledInvoice>();
  const closed = periods.filter((p) => p.status === 'closed').map((p) => p.id);
  for (let i = 0; i < closed.length; i += 500) {
    const invoices = await db.getRepository(Invoice).findBy({ periodId: In(closed.slice(i, i + 500)) });
    for (const inv of invoices) out.set(inv.periodId, invoiceOf(inv));
  }
  const open = periods.filter((p) => p.status === 'open');
  const usage = await measurePeriods(db, open);
  for (const p of open) out.set(p.id, buildInvoice(p, usage.get(p.id)!, 'open', null));
  for (const p of periods) {
    if (!out.has(p.id)) throw new Error(`closed billing period ${p.id} has no invoice`);
  }
  return out;
}

@Injectable()
export class BillingService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly periods: BillingPeriodsService,
  ) {}

  async listPeriods(query: ListPeriodsQueryDto): Promise<Page<BillingPeriodDto>> {
    const now = new Date();
    // Periods open when first needed: make sure the ones this list could show exist.
    if (query.consumerId) {
      await this.periods.ensureConsumer(query.consumerId, now).catch((err) => {
        if (!(err instanceof AppException && err.status === 404)) throw err;
      });
    } else {
      await this.periods.ensureAll(now);
    }
    const limit = query.limit ?? 20;
    const qb = this.dataSource.getRepository(BillingPeriod).createQueryBuilder('p');
    if (query.consumerId) qb.andWhere('p.consumerId = :consumerId', { consumerId: query.consumerId });
    if (query.status) qb.andWhere('p.status = :status', { status: query.status });
    if (query.period) {
      const month = monthRange(query.period);
      qb.andWhere('p.start >= :from AND p.start < :to', { from: sqlTime(month.start), to: sqlTime(month.end) });
    }
    const cursor = decodeCursor(query.cursor);
    if (cursor) qb.andWhere('p.id < :cursor', { cursor });
    const rows = await qb.orderBy('p.id', 'DESC').take(limit + 1).getMany();
    const invoices = await invoicesFor(this.dataSource, rows.slice(0, limit));
    return toPage(rows, limit, (p) => periodDto(p, invoices.get(p.id)!));
  }

  async getPeriod(id: string): Promise<BillingPeriodDto> {
    const period = await this.periods.find(this.dataSource, id);
    const invoices = await invoicesFor(this.dataSource, [period]);
    return periodDto(period, invoices.get(id)!);
  }

  /** The live estimate of the consumer's current period. */
  async current(consumerId: string): Promise<BilledInvoice> {
    const period = await this.periods.current(consumerId);
    const invoices = await invoicesFor(this.dataSource, [period]);
    return invoices.get(period.id)!;
  }

  /** The consumer's invoices (closed periods), newest first. */
  async invoices(consumerId: string, query: { limit?: number; cursor?: string }): Promise<Page<BilledInvoice>> {
    const limit = query.limit ?? 20;
    const where: FindOptionsWhere<Invoice> = { consumerId };
    const cursor = decodeCursor(query.cursor);
    if (cursor) where.id = LessThan(cursor);
    const rows = await this.dataSource.getRepository(Invoice).find({ where, order: { id: 'DESC' }, take: limit + 1 });
    return toPage(rows, limit, invoiceOf);
  }
}
