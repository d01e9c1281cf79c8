import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { AdminOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { AdminMeDto } from './admin-me.dto';

/** Lets an admin tool (the dashboard among them) learn what the key it holds may do, before trying. */
@ApiTags('Keys')
@AdminOnly()
@Controller('admin/me')
export class AdminMeController {
  @Get()
  @RequireScopes()
  @ApiOperation({ operationId: 'getAdminMe', summary: 'Who am I: the calling admin key and its scopes' })
  @ApiOkResponse({ type: AdminMeDto })
  get(@CurrentAuth() auth: AuthContext): AdminMeDto {
    const key = auth.key;
    return {
      id: key.id,
      kind: 'admin',
      name: key.name,
      environment: key.environment,
      scopes: key.scopes,
      expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
    };
  }
}
