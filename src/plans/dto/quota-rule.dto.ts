import { ArrayMaxSize, IsArray, IsIn, IsInt, Matches, Max, Min } from 'class-validator';
import { IsOmittable } from '../../common/validators';
import { METRIC_PATTERN } from '../../billing/pricing';
import { ApiInt } from '../../common/api-schema';

/** A hard cap on a metric per billing period. */
export class QuotaRuleDto {
  /** @example "requests" */
  @Matches(METRIC_PATTERN, { message: 'must be 1-64 characters of a-z, 0-9, _, . or -, starting with a letter' })
  metric: string;

  /** Units allowed per period; 0 blocks the metric. @example 1000000 */
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  @ApiInt()
  limit: number;

  /** Quotas count per billing period, which is monthly. @example "month" */
  @IsIn(['month'])
  period: 'month';

  /** Percentages of the limit at which a `quota.threshold` webhook is sent, each once per period; default [80, 100]. @example [80, 100] */
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(10)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(100, { each: true })
  @ApiInt({ isArray: true, minimum: 1, maximum: 100 })
  thresholds?: number[];
}
