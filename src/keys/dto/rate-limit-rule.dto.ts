import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { ApiInt } from '../../common/api-schema';

/** A named fixed-window limit, e.g. 20 per second or 1000 per minute. */
export class RateLimitRuleDto {
  /** @example "per-minute" */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9_-]{0,31}$/, { message: 'must be 1-32 lowercase letters, digits, - or _' })
  name: string;

  /** Requests allowed per window. @example 1000 */
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  @ApiInt()
  limit: number;

  /** Window length in seconds (1 second to 31 days). @example 60 */
  @IsInt()
  @Min(1)
  @Max(31 * 86400)
  @ApiInt()
  windowSeconds: number;
}
