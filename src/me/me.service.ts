import { Injectable } from '@nestjs/common';
import type { AuthKey } from '../auth/auth-key';
import { ConsumersService } from '../consumers/consumers.service';
import { ApiKeysService } from '../keys/api-keys.service';
import { ApiKeyDto } from '../keys/dto/api-key.dto';
import { QuotaService } from '../rate-limit/quota/quota.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { MeDto, MeKeyDto } from './dto/me.dto';

/** PUBLIC_KEY_FIELDS of the key. */
function publicFields(k: ApiKeyDto): MeKeyDto {
  const { id, kind, name, environment, start, scopes, expiresAt, allowedOrigins, createdAt } = k;
  return { id, kind, name, environment, start, scopes, expiresAt, allowedOrigins, createdAt };
}

@Injectable()
export class MeService {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly consumers: ConsumersService,
    private readonly rateLimits: RateLimitService,
    private readonly quotas: QuotaService,
  ) {}

  async describe(key: AuthKey): Promise<MeDto> {
    const consumerId = key.consumer!.id;
    const publishable = key.kind === 'publishable';
    // Limits and quotas are read, not consumed (this request already counted in the guards).
    const [keyDto, consumer, limits, quotas] = await Promise.all([
      this.keys.get({ consumerId }, key.id),
      publishable ? null : this.consumers.get(consumerId),
      this.rateLimits.peek(key),
      this.quotas.peekAll(key),
    ]);
    return { key: publishable ? publicFields(keyDto) : keyDto, consumer, rateLimits: this.rateLimits.states(limits), quotas };
  }
}
