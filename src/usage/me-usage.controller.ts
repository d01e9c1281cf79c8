import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { ConsumerOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { ApiErrorResponse } from '../common/error-response.dto';
import { UsageQueryDto, UsageReportDto } from './dto/usage-query.dto';
import { UsageQueryService } from './usage-query.service';

@ApiTags('Usage')
@ConsumerOnly()
@Controller('me/usage')
export class MeUsageController {
  constructor(private readonly usage: UsageQueryService) {}

  @Get()
  @RequireScopes('usage:read')
  @ApiOperation({
    operationId: 'getMyUsage',
    summary: "The calling consumer's usage over [from, to)",
    description:
      'All keys of the consumer. Request counts are written about once per flush interval (1 s by default), so the latest second may not show yet. Bounded so that every answer takes well under a second: minute granularity covers at most 24 hours, hour 31 days, day 366 days, month 10 years; at most 10,000 points; and at most 100,000 stored usage rows (one per key, metric and minute with usage) are read. Past a bound: 400 VALIDATION_FAILED saying which (narrow the range, use a coarser granularity, filter by metric).',
  })
  @ApiOkResponse({ type: UsageReportDto, description: 'Usage series and totals' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: bad range, range too wide for the granularity, too many points, or too many stored rows')
  get(@CurrentAuth() auth: AuthContext, @Query() query: UsageQueryDto): Promise<UsageReportDto> {
    return this.usage.report(query, auth.key.consumer!.id);
  }
}
