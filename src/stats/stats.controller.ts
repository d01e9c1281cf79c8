import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { StatsDto } from './dto/stats.dto';
import { StatsService } from './stats.service';

@ApiTags('Operations')
@AdminOnly()
@Controller('admin/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @RequireScopes('usage:read')
  @ApiOperation({
    operationId: 'getStats',
    summary: 'Overview: consumers and keys by status, requests in the last 24 hours, top consumers, keys expiring or unused',
    description:
      'Bounded work: the request counts of the last 24 hours are read from totals kept per bucket over all consumers (a few dozen rows, whatever the number of consumers or keys); the top 10 consumers rank the daily request counts of today and yesterday (UTC), through an index by day (two rows per consumer and environment); key counts are one grouped pass over the keys; the expiring and unused lists name at most 100 keys each, with their full count.',
  })
  @ApiOkResponse({ type: StatsDto, description: 'The overview' })
  get(): Promise<StatsDto> {
    return this.stats.overview();
  }
}
