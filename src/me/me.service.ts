import { Injectable } from '@nestjs/common';
import type { AuthKey } from '../auth/auth-key';
import { ConsumersService } from '../consumers/consumers.service';
import { ApiKeysService } from '../keys/api-keys.service';
import { QuotaService } from '../rate-limit/quota/quota.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { MeDto } from './dto/me.dto';

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
    // Limits and quotas are read, not consumed (this request already counted in the guards).
    const [keyDto, consumer, limits, quotas] = await Promise.all([
      this.keys.get({ consumerId }, key.id),
      this.consumers.get(consumerId),
      this.rateLimits.peek(key),
      this.quotas.peekAll(key),
    ]);
    return { key: keyDto, consumer, rateLimits: this.rateLimits.states(limits), quotas };
  }
}
