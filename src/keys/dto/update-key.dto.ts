import { OmitType, PartialType } from '@nestjs/swagger';
import { CreateKeyDto } from './create-key.dto';

/** Every field optional; kind and environment never change. `expiresAt: null` removes the expiry. */
export class UpdateKeyDto extends PartialType(OmitType(CreateKeyDto, ['kind', 'environment'] as const)) {}
