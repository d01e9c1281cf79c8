import { ConsumerDto } from '../../consumers/dto/consumer.dto';
import { ApiKeyDto } from '../../keys/dto/api-key.dto';
import { QuotaStateDto, RateLimitStateDto } from '../../verify/dto/verify.dto';

/** Who am I: the calling key, its consumer, and what its limits and quotas leave. */
export class MeDto {
  key: ApiKeyDto;
  consumer: ConsumerDto;
  /** Every limit that applies to this key, as it stands (reading it consumes nothing). */
  rateLimits: RateLimitStateDto[];
  /** The plan's quotas for the current billing period. */
  quotas: QuotaStateDto[];
}
