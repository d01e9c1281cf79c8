import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { ApiErrorResponse } from '../common/error-response.dto';
import { MetricsService } from '../metrics/metrics.service';
import { VerifyKeyDto, VerifyKeyResponseDto } from './dto/verify.dto';
import { VerifyService } from './verify.service';

@ApiTags('Verification')
@AdminOnly()
@Controller('keys')
export class VerifyController {
  constructor(
    private readonly verifyService: VerifyService,
    private readonly metrics: MetricsService,
  ) {}

  @Post('verify')
  @HttpCode(200)
  // A gateway verifies on behalf of many keys, each limited by its own limits and quota (applied by the
  // service): the verifying key is limited only by rateLimits it was given, never by the default.
  @SkipThrottle()
  @RequireScopes('keys:verify')
  @ApiOperation({
    operationId: 'verifyKey',
    summary: 'Verify a key presented to an upstream service',
    description:
      'Always 200 with `valid` and `code`. Applies the verified key\'s rate limits and quota as a direct call would (the verifying key is limited only by `rateLimits` it was given, not by the default), and meters `cost` (default 1) of `metric` (default `requests`) for a valid key; `cost: 0` checks without metering or consuming limits. IP and origin restrictions are checked against `ip` and `origin` when given (what your service saw), else against this request.',
  })
  @ApiOkResponse({ type: VerifyKeyResponseDto, description: 'The verdict, valid or not' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: malformed body')
  async verify(@Body() dto: VerifyKeyDto, @Req() request: FastifyRequest): Promise<VerifyKeyResponseDto> {
    const result = await this.verifyService.verify(dto, { ip: dto.ip ?? request.ip, origin: dto.origin ?? request.headers.origin });
    this.metrics.countVerification(result.code, 'verify');
    return result;
  }
}
