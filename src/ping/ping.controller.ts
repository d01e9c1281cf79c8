import { Controller, Get, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ConsumerOnly, Public, RequireScopes } from '../auth/decorators';
import { MePingDto, PingDto } from './dto/ping.dto';

/**
 * Two cheap routes of the same shape: one public, one behind the whole guard chain (key, scopes, rate
 * limits, quota). Integrators use them to check connectivity and a key; the benchmark compares them to
 * measure what the guard chain costs.
 */
@ApiTags('Ping')
@Controller()
export class PingController {
  @Get('ping')
  @Public()
  @ApiOperation({ operationId: 'ping', summary: 'Connectivity check, no key needed', description: 'Answers without authentication, rate limiting or a database read.' })
  @ApiOkResponse({ type: PingDto, description: 'Reachable' })
  ping(): PingDto {
    return { status: 'ok' };
  }

  @Get('me/ping')
  @ConsumerOnly()
  @RequireScopes()
  @ApiOperation({
    operationId: 'mePing',
    summary: 'Check a consumer key: authenticated, rate-limited and counted like any call, answered without a database read',
  })
  @ApiOkResponse({ type: MePingDto, description: 'The key as the guards saw it' })
  mePing(@Req() request: FastifyRequest): MePingDto {
    // @Req() rather than @CurrentAuth(): a custom parameter goes through the global pipes, a cost that
    // the bare route does not pay and that has nothing to do with the guards this route exists to show.
    const key = request.auth!.key;
    return { keyId: key.id, consumerId: key.consumer!.id, environment: key.environment };
  }
}
