import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/decorators';
import { RedisService } from '../redis/redis.service';

@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
  ) {}

  @Get('live')
  @ApiOperation({ operationId: 'healthLive', summary: 'Liveness: the process answers', description: 'For an orchestrator\'s liveness probe; checks nothing else.' })
  @ApiOkResponse({ description: 'Alive', schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' } }, required: ['status'] } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    operationId: 'healthReady',
    summary: 'Readiness: the database answers (503 if not); Redis is reported but never fails readiness',
    description: 'For a load balancer or readiness probe: 503 while the database does not answer. Without Redis the service runs on local limits, so Redis shows as degraded and readiness stays 200.',
  })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 1500 }),
      async () => {
        const indicator = this.indicators.check('redis');
        if (!this.redis.enabled) return indicator.up({ state: 'disabled' });
        // The service works without Redis (local limits), so a dead Redis is "degraded", not "down".
        return (await this.redis.ping()) ? indicator.up({ state: 'ok' }) : indicator.up({ state: 'degraded' });
      },
    ]);
  }
}

