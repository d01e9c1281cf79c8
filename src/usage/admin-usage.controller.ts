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
      'Request counts are written about once per flush interval (1 s by default), so the latest second may not show yet. Bounded so that every answer takes well under a second: minute granularity covers at most 24 hours, hour 31 days, day 366 days, month 10 years; at most 10,000 points; and at most 300,000 stored usage rows (one per consumer, key, metric and minute with usage) are read. Past a bound: 400 VALIDATION_FAILED saying which (narrow the range, use a coarser granularity, filter by metric, or name a consumer). Without consumerId the range is read from an index on the time bucket, so its cost follows the usage rows in the range, not the size of the table.',
  })
  @ApiOkResponse({ type: UsageReportDto, description: 'Usage series and totals' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: bad range, range too wide for the granularity, too many points, or too many stored rows')
  @ApiErrorResponse(404, 'NOT_FOUND: no consumer has this consumerId')
  async get(@Query() query: AdminUsageQueryDto): Promise<UsageReportDto> {
    if (query.consumerId !== undefined) await this.usage.assertConsumer(query.consumerId);
    return this.usage.report(query, query.consumerId, true);
  }
}
