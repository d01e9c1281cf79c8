import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page, PageOf } from '../common/pagination';
import { BillingCloser } from './billing-closer.service';
import { BillingExporter } from './billing-exporter.service';
import { BillingService } from './billing.service';
import { ExportRowDto } from './dto/export-row.dto';
import { BillingPeriodDto } from './dto/billing-period.dto';
import { ExportQueryDto, ListPeriodsQueryDto } from './dto/list-periods-query.dto';

const BillingPeriodPageDto = PageOf(BillingPeriodDto);


const EXPORT_CSV_EXAMPLE =
  'consumerId,externalId,periodId,periodStart,periodEnd,metric,quantity,included,billable,unitPrice,amountMinor,currency,invoiceId,status\r\n' +
  'cons_01JD…,acme-42,per_01JD…,2026-11-01T00:00:00.000Z,2026-12-01T00:00:00.000Z,base_fee,1,0,1,49.00,4900,USD,inv_01JD…,closed\r\n';

@ApiTags('Billing')
@AdminOnly()
@ApiErrorResponse(400, 'VALIDATION_FAILED')
@Controller('admin/billing')
export class BillingController {
  constructor(
    private readonly billing: BillingService,
    private readonly closer: BillingCloser,
    private readonly exporter: BillingExporter,
  ) {}

  @Get('periods')
  @RequireScopes('billing:read')
  @ApiOperation({
    operationId: 'listBillingPeriods',
    summary: 'List billing periods, newest first',
    description: 'Open periods carry their live estimate as `invoice` (id null, status open).',
  })
  @ApiOkResponse({ type: BillingPeriodPageDto, description: 'One page of billing periods, newest first' })
  list(@Query() query: ListPeriodsQueryDto): Promise<Page<BillingPeriodDto>> {
    return this.billing.listPeriods(query);
  }

  @Get('periods/:id')
  @RequireScopes('billing:read')
  @ApiOperation({ operationId: 'getBillingPeriod', summary: 'Get a billing period with its invoice (or, while open, its live estimate)' })
  @ApiOkResponse({ type: BillingPeriodDto, description: 'The billing period with its invoice or estimate' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  get(@Param('id') id: string): Promise<BillingPeriodDto> {
    return this.billing.getPeriod(id);
  }

  @Post('periods/:id/close')
  @HttpCode(200)
  @RequireScopes('billing:write')
  @ApiOperation({
    operationId: 'closeBillingPeriod',
    summary: 'Close a billing period and write its invoice',
    description:
      'Idempotent: closing a closed period returns it with the same invoice, and concurrent closes make one invoice. ' +
      'May close a period before its end; requests metered after that are carried into the next period. ' +
      "Earlier open periods of the consumer are closed first.",
  })
  @ApiOkResponse({ type: BillingPeriodDto, description: 'The billing period with its invoice or estimate' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  close(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<BillingPeriodDto> {
    return this.closer.close(actor, id);
  }

  @Get('export')
  @RequireScopes('billing:read')
  @ApiOperation({
    operationId: 'exportBilling',
    summary: 'Export the billing of the periods that start in a UTC month',
    description:
      'One row per consumer × period × invoice line, columns consumerId, externalId, periodId, periodStart, periodEnd, metric, ' +
      'quantity, included, billable, unitPrice, amountMinor, currency, invoiceId, status; the base fee is the row with metric ' +
      '`base_fee`; open periods export their live estimate with status `open` and no invoiceId. Streamed.',
  })
  @ApiProduces('text/csv', 'application/json', 'application/x-ndjson')
  @ApiExtraModels(ExportRowDto)
  @ApiOkResponse({
    description: 'The export, as an attachment: a CSV with a header row, one JSON array, or one JSON object per line',
    content: {
      'text/csv': { schema: { type: 'string', example: EXPORT_CSV_EXAMPLE } },
      'application/json': { schema: { type: 'array', items: { $ref: getSchemaPath(ExportRowDto) } } },
      'application/x-ndjson': { schema: { type: 'string', description: 'One ExportRowDto as JSON per line' } },
    },
  })
  @ApiErrorResponse(404, 'NOT_FOUND: no such consumer')
  async export(@Query() query: ExportQueryDto, @Res() reply: FastifyReply): Promise<void> {
    const out = await this.exporter.export(query.period, query.format ?? 'csv', query.consumerId);
    await reply
      .header('content-type', out.contentType)
      .header('content-disposition', `attachment; filename="${out.filename}"`)
      .header('cache-control', 'no-store')
      .send(out.body);
  }
}
