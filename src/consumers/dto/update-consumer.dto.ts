import { OmitType, PartialType } from '@nestjs/swagger';
import { CreateConsumerDto } from './create-consumer.dto';

/**
 * Every field optional. A plan change applies from the consumer's next billing period. `null` clears `externalId`,
 * `planId` and `metadata` (`{}`); for `name` and `billingAnchorDay` it is a 400.
 */
export class UpdateConsumerDto extends PartialType(OmitType(CreateConsumerDto, [] as const), { skipNullProperties: false }) {}
