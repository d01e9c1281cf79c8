import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page, PageOf } from '../common/pagination';
import { AuditLogService } from './audit-log.service';
import { AuditEntryDto } from './dto/audit-entry.dto';
import { AuditVerificationDto } from './dto/audit-verification.dto';
import { ListAuditLogQueryDto } from './dto/list-audit-log-query.dto';

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
      'Recomputes every hash in chain order and checks that each stored entry still matches the text that was hashed and links to the entry before it. Names the first entry that does not.',
  })
  @ApiOkResponse({ type: AuditVerificationDto, description: 'The result of the check' })
  verify(): Promise<AuditVerificationDto> {
    return this.auditLog.verify();
  }
}
