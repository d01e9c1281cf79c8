import { Injectable } from '@nestjs/common';
import type { AuthKey } from '../auth/auth-key';
import { ConsumersService } from '../consumers/consumers.service';
import { ApiKeysService } from '../keys/api-keys.service';
import { MeDto } from './dto/me.dto';

@Injectable()
export class MeService {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly consumers: ConsumersService,
  ) {}

  async describe(key: AuthKey): Promise<MeDto> {
    const consumerId = key.consumer!.id;
    const [keyDto, consumer] = await Promise.all([this.keys.get({ consumerId }, key.id), this.consumers.get(consumerId)]);
    return { key: keyDto, consumer, rateLimits: [], quotas: [] };
  }
}
