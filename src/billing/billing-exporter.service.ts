import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'node:stream';
import { DataSource } from 'typeorm';
import { sqlTime } from '../database/sql';
import { BillingPeriod } from './billing-period.entity';
import { BillingPeriodsService } from './billing-periods.service';
import { invoicesFor } from './billing.service';
import { ExportFormat, exportRows, exportWriter, ExportWriter } from './export-format';
import { monthRange } from './periods';

/** Consumers per page: one query for their periods, one for invoices, one GROUP BY for open estimates. */
const CONSUMERS_PER_PAGE = 500;

export interface BillingExport {
  contentType: string;
  filename: string;
  body: Readable;
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
      const inMonth = await this.dataSource
        .getRepository(BillingPeriod)
        .createQueryBuilder('p')
        .where('p.consumerId IN (:...ids)', { ids: consumers.map((c) => c.id) })
        .andWhere('p.start >= :from AND p.start < :to', { from: sqlTime(range.start), to: sqlTime(range.end) })
        .orderBy('p.consumerId', 'ASC')
        .addOrderBy('p.start', 'ASC')
        .getMany();
      const invoices = await invoicesFor(this.dataSource, inMonth);
      const byId = new Map(consumers.map((c) => [c.id, c]));
      const rows = inMonth.flatMap((p) => exportRows(byId.get(p.consumerId)!, invoices.get(p.id)!));
      const chunk = writer.rows(rows);
      if (chunk) yield chunk;
      if (consumers.length < CONSUMERS_PER_PAGE) break;
    }
    yield writer.end();
  }
}
