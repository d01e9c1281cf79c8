import { OmitType, PartialType } from '@nestjs/swagger';
import { CreateKeyDto } from './create-key.dto';

/**
 * Every field optional; kind and environment never change. `null` clears `expiresAt` (no expiry), `allowedIps`,
 * `allowedOrigins`, `rateLimits` (empty) and `metadata` (`{}`); for `name` and `scopes` it is a 400.
 */
export class UpdateKeyDto extends PartialType(OmitType(CreateKeyDto, ['kind', 'environment'] as const), { skipNullProperties: false }) {}
