import { PartialType } from '@nestjs/swagger';
import { CreatePlanDto } from './create-plan.dto';

/**
 * Every field optional. Rate limits and quotas apply at once; currency, base fee and prices apply from
 * each consumer's next billing period, because a period keeps the plan it opened with. `null` clears `rateLimits`,
 * `quotas`, `prices` (empty) and `metadata` (`{}`); for `name`, `currency` and `baseFeeMinor` it is a 400.
 */
export class UpdatePlanDto extends PartialType(CreatePlanDto, { skipNullProperties: false }) {}
