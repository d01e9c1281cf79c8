import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { AdminOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page, PageOf } from '../common/pagination';
import { ApiKeysService } from './api-keys.service';
import { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { CreateAdminKeyDto, CreateConsumerKeyDto, RotateKeyDto } from './dto/create-key.dto';
import { ListAllKeysQueryDto, ListKeysQueryDto } from './dto/list-keys-query.dto';
import { UpdateKeyDto } from './dto/update-key.dto';

export const ApiKeyPageDto = PageOf(ApiKeyDto);

/** Operators manage every key: consumers' keys and admin keys. */
@ApiTags('Keys')
@AdminOnly()
@ApiErrorResponse(400, 'VALIDATION_FAILED')
@Controller('admin')
export class KeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post('consumers/:consumerId/keys')
  @RequireScopes('keys:write')
  @ApiOperation({ operationId: 'createConsumerKey', summary: "Create a consumer's key", description: 'The plaintext `key` is in this response only.' })
  @ApiBody({ type: CreateConsumerKeyDto, examples: { secret: { summary: 'A secret key for a backend', value: { name: 'production backend', scopes: ['usage:read', 'usage:write', 'billing:read'] } }, publishable: { summary: 'A publishable key for a web app', value: { kind: 'publishable', name: 'web app', scopes: ['usage:write'], allowedOrigins: ['https://app.example.com'] } } } })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key, with its plaintext `key` (shown this once)' })
  @ApiErrorResponse(404, 'NOT_FOUND: no such consumer')
  createForConsumer(
    @CurrentAuth() auth: AuthContext,
    @CurrentActor() actor: Actor,
    @Param('consumerId') consumerId: string,
    @Body() dto: CreateConsumerKeyDto,
  ): Promise<CreatedApiKeyDto> {
    return this.keys.create(auth.key, actor, consumerId, dto);
  }

  @Get('consumers/:consumerId/keys')
  @RequireScopes('keys:read')
  @ApiOperation({ operationId: 'listConsumerKeys', summary: "List a consumer's keys, newest first" })
  @ApiOkResponse({ type: ApiKeyPageDto, description: 'One page of keys, newest first' })
  listForConsumer(@Param('consumerId') consumerId: string, @Query() query: ListKeysQueryDto): Promise<Page<ApiKeyDto>> {
    return this.keys.list({ consumerId }, query);
  }

  @Get('keys')
  @RequireScopes('keys:read')
  @ApiOperation({ operationId: 'listKeys', summary: 'List all keys, newest first' })
  @ApiOkResponse({ type: ApiKeyPageDto, description: 'One page of keys, newest first' })
  list(@Query() query: ListAllKeysQueryDto): Promise<Page<ApiKeyDto>> {
    return this.keys.list('any', query);
  }

  @Get('keys/:id')
  @RequireScopes('keys:read')
  @ApiOperation({ operationId: 'getKey', summary: 'Get a key' })
  @ApiOkResponse({ type: ApiKeyDto, description: 'The key' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  get(@Param('id') id: string): Promise<ApiKeyDto> {
    return this.keys.get('any', id);
  }

  @Patch('keys/:id')
  @RequireScopes('keys:write')
  @ApiOperation({ operationId: 'updateKey', summary: 'Change a key (name, scopes, expiry, allowlists, limits, metadata)', description: 'Applies to the next request.' })
  @ApiOkResponse({ type: ApiKeyDto, description: 'The key' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: the last admin key with * cannot lose it')
  update(
    @CurrentAuth() auth: AuthContext,
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Body() dto: UpdateKeyDto,
  ): Promise<ApiKeyDto> {
    return this.keys.update(auth.key, actor, 'any', id, dto);
  }

  @Post('keys/:id/revoke')
  @HttpCode(200)
  @RequireScopes('keys:write')
  @ApiOperation({ operationId: 'revokeKey', summary: 'Revoke a key at once (idempotent)' })
  @ApiOkResponse({ type: ApiKeyDto, description: 'The key' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: the last admin key with * cannot be revoked')
  revoke(@CurrentAuth() auth: AuthContext, @CurrentActor() actor: Actor, @Param('id') id: string): Promise<ApiKeyDto> {
    return this.keys.revoke(auth.key, actor, 'any', id);
  }

  @Post('keys/:id/rotate')
  @RequireScopes('keys:write')
  @ApiOperation({
    operationId: 'rotateKey',
    summary: 'Rotate a key',
    description: 'Returns a new key with the same consumer, scopes, limits and metadata; the old key keeps working for gracePeriodSeconds (0-604800), then answers KEY_EXPIRED.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key, with its plaintext `key` (shown this once)' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: the key is revoked, expired, or already rotated (in its grace period: rotate its successor)')
  rotate(
    @CurrentAuth() auth: AuthContext,
    @CurrentActor() actor: Actor,
    @Param('id') id: string,
    @Body() dto: RotateKeyDto,
  ): Promise<CreatedApiKeyDto> {
    return this.keys.rotate(auth.key, actor, 'any', id, dto.gracePeriodSeconds ?? 0);
  }

  @Post('admin-keys')
  @RequireScopes('keys:write')
  @ApiOperation({ operationId: 'createAdminKey', summary: 'Create an admin key', description: "Its scopes must be a subset of the caller's." })
  @ApiBody({ type: CreateAdminKeyDto, examples: { gateway: { summary: 'A key for a gateway that verifies keys', value: { name: 'edge gateway', scopes: ['keys:verify'] } } } })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key, with its plaintext `key` (shown this once)' })
  createAdminKey(@CurrentAuth() auth: AuthContext, @CurrentActor() actor: Actor, @Body() dto: CreateAdminKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(auth.key, actor, null, dto);
  }

  @Get('admin-keys')
  @RequireScopes('keys:read')
  @ApiOperation({ operationId: 'listAdminKeys', summary: 'List admin keys, newest first' })
  @ApiOkResponse({ type: ApiKeyPageDto, description: 'One page of keys, newest first' })
  listAdminKeys(@Query() query: ListKeysQueryDto): Promise<Page<ApiKeyDto>> {
    return this.keys.list({ kind: 'admin' }, query);
  }
}
