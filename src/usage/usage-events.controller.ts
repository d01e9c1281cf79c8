import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { ConsumerOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { ApiErrorResponse } from '../common/error-response.dto';
import { RecordUsageEventsDto, UsageEventsResponseDto } from './dto/usage-events.dto';
import { UsageEventsService } from './usage-events.service';

@ApiTags('Usage')
@ConsumerOnly()
@Controller('usage')
export class UsageEventsController {
  constructor(private readonly events: UsageEventsService) {}

  @Post('events')
  @HttpCode(200)
  @RequireScopes('usage:write')
  @ApiOperation({
    operationId: 'recordUsageEvents',
    summary: 'Report metered usage: up to 1000 events',
    description:
      'Each event is validated and de-duplicated on its own, and the answer lists, per event, `accepted`, `duplicate` (same idempotencyKey and content seen before: not counted again) or `rejected` with a code (`VALIDATION_FAILED`, `CONFLICT` for the same key with other content, `PERIOD_CLOSED`, `QUOTA_EXCEEDED` past the quota of the plan). Accepted events are committed before the answer. A 4xx is answered only for a bad envelope.',
  })
  @ApiOkResponse({ type: UsageEventsResponseDto, description: 'One result per event' })
  @ApiBody({
    type: RecordUsageEventsDto,
    examples: {
      now: {
        summary: 'Two events that happened just now (timestamp left out: it defaults to now)',
        value: { events: [{ metric: 'tokens', quantity: 1250, idempotencyKey: 'chat-7f3a9c-completion-1', properties: { model: 'small' } }, { metric: 'sms', quantity: 1, idempotencyKey: 'sms-2026-0001' }] },
      },
    },
  })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: the body is not {events: [1 to 1000 items]}')
  @ApiErrorResponse(413, 'PAYLOAD_TOO_LARGE: the body exceeds BODY_LIMIT_BYTES')
  async record(@CurrentAuth() auth: AuthContext, @Body() dto: RecordUsageEventsDto): Promise<UsageEventsResponseDto> {
    return { results: await this.events.ingest(auth.key, dto.events) };
  }
}
