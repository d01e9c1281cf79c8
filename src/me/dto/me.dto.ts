import { ApiProperty, IntersectionType, OmitType, PartialType, PickType } from '@nestjs/swagger';
import { nullableRef, OrNull } from '../../common/api-schema';
import { ConsumerDto } from '../../consumers/dto/consumer.dto';
import { ApiKeyDto } from '../../keys/dto/api-key.dto';
import { QuotaStateDto, RateLimitStateDto } from '../../verify/dto/verify.dto';

/** The fields of a key that a publishable key, which sits in a browser, is shown of itself. */
export const PUBLIC_KEY_FIELDS = ['id', 'kind', 'name', 'environment', 'start', 'scopes', 'expiresAt', 'allowedOrigins', 'createdAt'] as const;

/**
 * The calling key. A secret key sees its whole record; a publishable key only its public fields: the others
 * (consumer id, metadata, address allowlist, limits, use) are for the operator and the consumer's own servers.
 */
export class MeKeyDto extends IntersectionType(PickType(ApiKeyDto, PUBLIC_KEY_FIELDS), PartialType(OmitType(ApiKeyDto, PUBLIC_KEY_FIELDS))) {}

/** Who am I: the calling key, its consumer, and what its limits and quotas leave. */
export class MeDto {
  key: MeKeyDto;
  /** The key's consumer; null for a publishable key, which never sees the consumer's name, externalId or metadata. */
  @ApiProperty({ type: undefined, oneOf: nullableRef(ConsumerDto) })
  consumer: OrNull<ConsumerDto>;
  /** Every limit that applies to this key, as it stands (reading it consumes nothing). */
  rateLimits: RateLimitStateDto[];
  /** The plan's quotas for the current billing period. */
  quotas: QuotaStateDto[];
}
