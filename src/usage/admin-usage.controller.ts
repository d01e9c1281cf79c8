import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { ApiErrorResponse } from '../common/error-response.dto';
import { AdminUsageQueryDto, UsageReportDto } from './dto/usage-query.dto';
import { UsageQueryService } from './usage-query.service';

@ApiTags('Usage')
@AdminOnly()
@Controller('admin/usage')
export class AdminUsageController {
  constructor(private readonly usage: UsageQueryService) {}

  @Get()
  @RequireScopes('usage:read')
  @ApiOperation({
    operationId: 'getUsage',
    summary: 'Usage over [from, to), of one consumer or of all',
    description:
      'Request counts are written about once per flush interval (1 s by default), so the latest second may not show yet. Bounded so that every answer takes well under a second: minute granularity covers at most 24 hours, hour 31 days, day 366 days, month 10 years; and at most 10,000 points. The usage of all consumers by metric (no consumerId, groupBy=metric) is read from totals kept per bucket over all consumers, so its cost does not grow with the number of consumers or keys. One consumer\'s usage, and usage grouped by consumer or key across consumers, is read from the stored usage rows (one per consumer, key, metric and minute with usage): at most 100,000 of them; across consumers, of at most 1,000 consumers with usage in the UTC days the range touches (found among at most 100,000 daily rows). Past a bound: 400 VALIDATION_FAILED saying which (narrow the range, use a coarser granularity, filter by metric, group by metric, or name a consumer).',
  })
  @ApiOkResponse({ type: UsageReportDto, description: 'Usage series and totals' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: bad range, range too wide for the granularity, too many points, too many stored rows, or too many consumers')
  @ApiErrorResponse(404, 'NOT_FOUND: no consumer has this consumerId')
  async get(@Query() query: AdminUsageQueryDto): Promise<UsageReportDto> {
    if (query.consumerId !== undefined) await this.usage.assertConsumer(query.consumerId);
    return this.usage.report(query, query.consumerId, true);
  }
}
