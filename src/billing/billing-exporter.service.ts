import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { sqlTime, toDate, toNumber } from '../database/sql';
import type { PlanSnapshot } from '../plans/plan-snapshot';
import type { RawPeriod } from './billing-closer.service';
import { BillingPeriodsService, quoteName } from './billing-periods.service';
import type { BilledInvoice, BilledLine } from './billing.types';
import { ExportFormat, exportRows, exportWriter, ExportWriter } from './export-format';
import { buildInvoice } from './invoice-builder';
import { measurePeriods, PeriodRef } from './period-usage';
import { monthRange } from '../periods/periods';

/** Consumers per page: one query for their periods and invoices, a few more for open estimates. */
const CONSUMERS_PER_PAGE = 500;

export interface BillingExport {
  contentType: string;
  filename: string;
  body: Readable;
}

interface PeriodInvoiceRow extends RawPeriod {
  invoice_id: string | null;
  currency: string | null;
  lines: string | null;
  total_minor: unknown;
}

/**
 * Billing exports, streamed: consumers are read a page at a time (keyset on id), each page is written
 * out and dropped before the next is read, and the stream is pulled by the HTTP response, so a slow
 * client slows the export instead of filling memory. Memory stays flat whatever the number of consumers.
 */
@Injectable()
export class BillingExporter {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly periods: BillingPeriodsService,
  ) {}

  /** Checks and prepares (opening periods not yet opened) before anything is sent, so errors keep their shape. */
  async export(month: string, format: ExportFormat, consumerId?: string): Promise<BillingExport> {
    const range = monthRange(month);
    const now = new Date();
    if (consumerId) await this.periods.ensureConsumer(consumerId, now);
    else await this.periods.ensureAll(now);
    const writer = exportWriter(format);
    const suffix = consumerId ? `-${consumerId}` : '';
    return {
      contentType: writer.contentType,
      filename: `billing-${month}${suffix}.${writer.extension}`,
      body: Readable.from(this.chunks(writer, range, consumerId), { objectMode: false }),
    };
  }

  private async *chunks(writer: ExportWriter, range: { start: Date; end: Date }, consumerId?: string): AsyncGenerator<string> {
    yield writer.begin();
    let after = '';
    for (;;) {
      const consumers = await this.periods.consumersAfter(after, CONSUMERS_PER_PAGE, consumerId);
      if (consumers.length === 0) break;
      after = consumers[consumers.length - 1].id;
      const invoices = await this.invoices(consumers.map((c) => c.id), range);
      const byId = new Map(consumers.map((c) => [c.id, c]));
      const chunk = writer.rows(invoices.flatMap((invoice) => exportRows(byId.get(invoice.consumerId)!, invoice)));
      if (chunk) yield chunk;
      if (consumers.length < CONSUMERS_PER_PAGE) break;
    }
    yield writer.end();
  }

  /**
   * The invoices (closed) and live estimates (open) of the periods of these consumers that start in the
   * range, ordered by consumer and start. Plain rows rather than entities: this runs for every consumer.
   */
  private async invoices(consumerIds: string[], range: { start: Date; end: Date }): Promise<BilledInvoice[]> {
    const q = (name: string) => quoteName(this.dataSource, name);
    const rows: PeriodInvoiceRow[] = await this.dataSource.query(
      `SELECT p.id, p.consumer_id, p.start, p.${q('end')} AS ${q('end')}, p.status, p.plan_snapshot,
              i.id AS invoice_id, i.currency, i.${q('lines')} AS ${q('lines')}, i.total_minor
       FROM billing_periods p LEFT JOIN invoices i ON i.period_id = p.id
       WHERE p.consumer_id IN (${consumerIds.map(() => '?').join(', ')}) AND p.start >= ? AND p.start < ?
       ORDER BY p.consumer_id, p.start`,
      [...consumerIds, sqlTime(range.start), sqlTime(range.end)],
    );
    const open: (PeriodRef & { index: number })[] = [];
    const out: BilledInvoice[] = rows.map((r, index) => {
      const start = toDate(r.start);
      const end = toDate(r.end);
      if (r.status === 'open') {
        open.push({ id: r.id, consumerId: r.consumer_id, start, end, planSnapshot: r.plan_snapshot ? (JSON.parse(r.plan_snapshot) as PlanSnapshot) : null, index });
      }
      else if (r.invoice_id === null) throw new Error(`closed billing period ${r.id} has no invoice`);
      return {
        id: r.invoice_id,
        periodId: r.id,
        consumerId: r.consumer_id,
        currency: r.currency,
        periodStart: start.toISOString(),
        periodEnd: end.toISOString(),
        status: 'closed',
        lines: r.lines ? (JSON.parse(r.lines) as BilledLine[]) : [],
        totalMinor: toNumber(r.total_minor),
      };
    });
    const usage = await measurePeriods(this.dataSource, open);
    for (const p of open) out[p.index] = buildInvoice(p, usage.get(p.id)!, 'open', null);
    return out;
  }
}
