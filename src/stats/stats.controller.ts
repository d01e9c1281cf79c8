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
  })
  @ApiOkResponse({ type: StatsDto, description: 'The overview' })
  get(): Promise<StatsDto> {
    return this.stats.overview();
  }
}
