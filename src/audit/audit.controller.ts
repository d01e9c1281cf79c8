import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page, PageOf } from '../common/pagination';
import { AuditLogService } from './audit-log.service';
import { AuditEntryDto } from './dto/audit-entry.dto';
import { AuditVerificationDto } from './dto/audit-verification.dto';
import { ListAuditLogQueryDto, VerifyAuditLogQueryDto } from './dto/list-audit-log-query.dto';

const AuditEntryPageDto = PageOf(AuditEntryDto);

/** Read-only by design: there is no route that changes or deletes an entry. */
@ApiTags('Audit')
@AdminOnly()
@Controller('admin/audit-log')
export class AuditController {
  constructor(private readonly auditLog: AuditLogService) {}

  @Get()
  @RequireScopes('audit:read')
  @ApiOperation({
    operationId: 'listAuditLog',
    summary: 'List audit entries, newest first',
    description: 'Every change made through the API (and the CLI) leaves one entry, written in the same transaction as the change.',
  })
  @ApiOkResponse({ type: AuditEntryPageDto, description: 'One page of audit entries, newest first' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED')
  list(@Query() query: ListAuditLogQueryDto): Promise<Page<AuditEntryDto>> {
    return this.auditLog.list(query);
  }

  @Get('verify')
  @RequireScopes('audit:read')
  @ApiOperation({
    operationId: 'verifyAuditLog',
    summary: 'Verify the hash chain of the audit log',
    description:
      'Recomputes every hash in chain order and checks that each stored entry still matches the text that was hashed and links to the entry before it. Names the first entry that does not. Checks at most `limit` entries (up to 10,000, well under a second) per request: on a longer log the answer carries `nextCursor`, and the next request continues from the hash this one computed, until `nextCursor` is null (the end of the log, compared with the chain head).',
  })
  @ApiOkResponse({ type: AuditVerificationDto, description: 'The result of the check (of one page of the log)' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: limit outside 1-10000, or a cursor this API did not return')
  async verify(@Query() query: VerifyAuditLogQueryDto, @Req() request: FastifyRequest): Promise<AuditVerificationDto> {
    const result = await this.auditLog.verify(query);
    // With the request's logger, so that the line carries the request id.
    if (result.firstInvalid) request.log.warn({ firstInvalid: result.firstInvalid, checked: result.checked }, 'audit chain verification failed');
    return result;
  }
}
