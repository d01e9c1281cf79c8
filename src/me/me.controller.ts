import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { ConsumerOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { MeDto } from './dto/me.dto';
import { MeService } from './me.service';

@ApiTags('Self-service')
@ConsumerOnly()
@Controller('me')
export class MeController {
  constructor(private readonly me: MeService) {}

  @Get()
  @RequireScopes()
  @ApiOperation({
    operationId: 'getMe',
    summary: 'Who am I: the calling key, its consumer, its limits and remaining quota',
    description: "A publishable key (it sits in a browser) is shown its own public fields only, and `consumer` is null: never the consumer's name, externalId or metadata.",
  })
  @ApiOkResponse({ type: MeDto, description: 'The calling key, its consumer, limits and quotas' })
  get(@CurrentAuth() auth: AuthContext): Promise<MeDto> {
    return this.me.describe(auth.key);
  }
}
