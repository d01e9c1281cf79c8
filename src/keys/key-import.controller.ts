import { Body, Controller, Param, Post } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../auth/auth-key';
import { AdminOnly, CurrentAuth, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { ImportedKeysDto, ImportKeysDto } from './dto/import-keys.dto';
import { KeyImportService } from './key-import.service';

/** Keys brought from another system, under one consumer (docs/keys-import.md). */
@ApiTags('Keys')
@AdminOnly()
@Controller('admin')
export class KeyImportController {
  constructor(private readonly imports: KeyImportService) {}

  @Post('consumers/:consumerId/keys/import')
  @RequireScopes('keys:write')
  @ApiOperation({
    operationId: 'importConsumerKeys',
    summary: "Import a consumer's existing keys",
    description:
      'Up to 1000 keys issued by another system, as plaintext or as the hash it kept (sha256, sha512, hmac-sha256 with `hashSecret`, bcrypt), ' +
      'all imported or none. A hashed key is re-hashed to Tollgate’s own on its first successful use. See docs/keys-import.md.',
  })
  @ApiBody({
    type: ImportKeysDto,
    examples: {
      plaintext: {
        summary: 'Keys whose plaintext the old system can export',
        value: { keys: [{ key: 'acme_3f9c1e7b2d4a8f60c5e1b9d7a2f4c8e0', name: 'production', scopes: ['usage:read'], externalId: 'legacy-4711' }] },
      },
      hashed: {
        summary: 'Keys the old system kept as hashes',
        value: {
          hashSecret: 'old-system-hmac-secret',
          keys: [
            { hash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', algorithm: 'sha256', name: 'ci', scopes: ['usage:write'] },
            { hash: 'pBqj9ZxJxQ1hJ8q1l2tX0k6mO8nYwXo3Y2vYJb5cQ1E=', algorithm: 'hmac-sha256', name: 'batch jobs', scopes: ['usage:read'], expiresAt: '2027-06-30T00:00:00.000Z' },
          ],
        },
      },
    },
  })
  @ApiCreatedResponse({ type: ImportedKeysDto, description: 'The imported keys, in the order given' })
  @ApiErrorResponse(400, 'VALIDATION_FAILED: details name each bad entry as keys[index].field; nothing was imported')
  @ApiErrorResponse(404, 'NOT_FOUND: no such consumer')
  @ApiErrorResponse(409, 'CONFLICT: a key (same hash) or externalId is already stored; nothing was imported')
  async importKeys(
    @CurrentAuth() auth: AuthContext,
    @CurrentActor() actor: Actor,
    @Param('consumerId') consumerId: string,
    @Body() dto: ImportKeysDto,
  ): Promise<ImportedKeysDto> {
    const entries = dto.keys.map((k, i) => ({ consumerId, dto: k, label: `keys[${i}]` }));
    const keys = await this.imports.import(auth.key, actor, entries, dto.hashSecret);
    return { imported: keys.length, keys };
  }
}
