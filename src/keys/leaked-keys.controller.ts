import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { LeakedKeyReportDto, ReportLeakedKeyDto } from './dto/report-leaked-key.dto';
import { LeakedKeysService } from './leaked-keys.service';

@ApiTags('Keys')
@AdminOnly()
@Controller('admin/keys/leaked')
export class LeakedKeysController {
  constructor(private readonly leaked: LeakedKeysService) {}

  @Post()
  @HttpCode(200)
  @RequireScopes('keys:write')
  @ApiOperation({
    operationId: 'reportLeakedKey',
    summary: 'Revoke a key found in the wild, by its plaintext',
    description:
      'For secret scanners and incident response. Revokes the key (if it is not revoked yet), records where it was reported in the audit log, and sends `key.leaked` (and `key.revoked` the first time). Reporting a revoked key again records the new report.',
  })
  @ApiOkResponse({ type: LeakedKeyReportDto })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: not a well-formed key')
  @ApiErrorResponse(404, 'NOT_FOUND: no key matches')
  report(@CurrentActor() actor: Actor, @Body() dto: ReportLeakedKeyDto): Promise<LeakedKeyReportDto> {
    return this.leaked.report(actor, dto.key, dto.source ?? null);
  }
}
