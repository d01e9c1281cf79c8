import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../../auth/decorators';
import { ApiErrorResponse } from '../../common/error-response.dto';
import { KeyOutcomesQueryDto, KeyOutcomesReportDto } from './key-outcomes.dto';
import { KeyOutcomesService } from './key-outcomes.service';

@ApiTags('Usage')
@AdminOnly()
@Controller('admin/usage/outcomes')
export class KeyOutcomesController {
  constructor(private readonly outcomes: KeyOutcomesService) {}

  @Get()
  @RequireScopes('usage:read')
  @ApiOperation({
    operationId: 'getKeyOutcomes',
    summary: 'Requests made with keys over [from, to), split by outcome',
    description: [
      'Per key, or all keys of a consumer, or all keys: `VALID` counts the requests every guard admitted (the `requests` usage metric,',
      'whatever the handler then answered); the other outcomes count requests refused with a known key — revoked or expired (401),',
      'suspended consumer, IP, origin or missing scope (403), rate limit or quota (429), and `POST /v1/keys/verify` answers that refuse',
      'the verified key for the same reasons (except with `cost: 0`). Refusals are never billed.',
      'Requests with an unknown or malformed key belong to no key and are not counted here. Admin keys are not metered, so they have no `VALID` series.',
      'Counts are written about once per flush interval (1 s by default).',
      '`VALID` of all keys is read from totals kept per bucket over all consumers; of one key or consumer, or per key across consumers, from at most',
      '100,000 stored usage rows (and across consumers, of at most 1,000 consumers with requests in the UTC days the range touches).',
    ].join(' '),
  })
  @ApiOkResponse({ type: KeyOutcomesReportDto })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: bad range, range too wide for the granularity, too many points, too many stored rows, or too many consumers')
  @ApiErrorResponse(404, 'NOT_FOUND: no such consumer, or no such key (of that consumer)')
  get(@Query() query: KeyOutcomesQueryDto): Promise<KeyOutcomesReportDto> {
    return this.outcomes.report(query);
  }
}
