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
    description: 'Request counts are written about once per flush interval (1 s by default), so the latest second may not show yet.',
  })
  @ApiOkResponse({ type: UsageReportDto, description: 'Usage series and totals' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: bad range, range too wide for the granularity, or too many points')
  @ApiErrorResponse(404, 'NOT_FOUND: no consumer has this consumerId')
  async get(@Query() query: AdminUsageQueryDto): Promise<UsageReportDto> {
    if (query.consumerId !== undefined) await this.usage.assertConsumer(query.consumerId);
    return this.usage.report(query, query.consumerId, true);
  }
}
