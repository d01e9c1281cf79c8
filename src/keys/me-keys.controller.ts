import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { ConsumerOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page } from '../common/pagination';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { CreateConsumerKeyDto, RotateKeyDto } from './dto/create-key.dto';
import { ListKeysQueryDto } from './dto/list-keys-query.dto';
import { ApiKeyPageDto } from './keys.controller';

const own = (auth: AuthContext) => ({ consumerId: auth.key.consumer!.id });
/**
 * What the calling key may read: its consumer's keys of its own environment (another's is a 404). Writes
 * look across environments only to refuse them with 403, as they refuse keys above the caller.
 */
const readable = (auth: AuthContext) => ({ consumerId: auth.key.consumer!.id, environment: auth.key.environment });

/** A consumer manages its own keys, never granting more than the calling key holds. */
@ApiTags('Self-service')
@ConsumerOnly()
@ApiErrorResponse(400, 'VALIDATION_FAILED')
@Controller('me/keys')
export class MeKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Get()
  @RequireScopes('keys:read')
  @ApiOperation({ operationId: 'listMyKeys', summary: "List the calling consumer's keys of the calling key's environment" })
  @ApiOkResponse({ type: ApiKeyPageDto, description: 'One page of keys, newest first' })
  list(@CurrentAuth() auth: AuthContext, @Query() query: ListKeysQueryDto): Promise<Page<ApiKeyDto>> {
    return this.keys.list(readable(auth), query);
  }

  @Post()
  @RequireScopes('keys:write')
  @ApiOperation({
    operationId: 'createMyKey',
    summary: 'Create a key for the calling consumer',
    description: "Scopes must be a subset of the calling key's; same environment; no later expiry.",
  })
  @ApiBody({ type: CreateConsumerKeyDto, examples: { reader: { summary: 'A read-only key', value: { name: 'reporting', scopes: ['usage:read'] } } } })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key, with its plaintext `key` (shown this once)' })
  create(@CurrentAuth() auth: AuthContext, @CurrentActor() actor: Actor, @Body() dto: CreateConsumerKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(auth.key, actor, auth.key.consumer!.id, dto);
  }

  @Get(':id')
  @RequireScopes('keys:read')
  @ApiOperation({ operationId: 'getMyKey', summary: "Get one of the calling consumer's keys" })
  @ApiOkResponse({ type: ApiKeyDto, description: 'The key' })
  @ApiErrorResponse(404, "NOT_FOUND, also for another consumer's key and for a key of the other environment")
  get(@CurrentAuth() auth: AuthContext, @Param('id') id: string): Promise<ApiKeyDto> {
    return this.keys.get(readable(auth), id);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @RequireScopes('keys:write')
  @ApiOperation({
    operationId: 'revokeMyKey',
    summary: "Revoke one of the calling consumer's keys",
    description: "Only a key in the calling key's environment whose scopes are a subset of the calling key's; otherwise 403 INSUFFICIENT_PERMISSIONS.",
  })
  @ApiOkResponse({ type: ApiKeyDto, description: 'The key' })
  @ApiErrorResponse(404, "NOT_FOUND, also for another consumer's key")
  revoke(@CurrentAuth() auth: AuthContext, @CurrentActor() actor: Actor, @Param('id') id: string): Promise<ApiKeyDto> {
    return this.keys.revoke(auth.key, actor, own(auth), id);
  }

  @Post(':id/rotate')
  @RequireScopes('keys:write')
  @ApiOperation({
    operationId: 'rotateMyKey',
    summary: "Rotate one of the calling consumer's keys",
    description:
      "Only a key in the calling key's environment whose scopes are a subset of the calling key's and that expires no later than the calling key; otherwise 403 INSUFFICIENT_PERMISSIONS. The new key keeps the rotated key's expiresAt.",
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key, with its plaintext `key` (shown this once)' })
  @ApiErrorResponse(404, "NOT_FOUND, also for another consumer's key")
  @ApiErrorResponse(409, 'CONFLICT: the key is revoked, expired, or already rotated (in its grace period: rotate its successor)')
  rotate(
    @CurrentAuth() auth: AuthContext,
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Body() dto: RotateKeyDto,
  ): Promise<CreatedApiKeyDto> {
    return this.keys.rotate(auth.key, actor, own(auth), id, dto.gracePeriodSeconds ?? 0);
  }
}
