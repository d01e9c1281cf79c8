import type { ConsumerStatus } from '../consumer.entity';
import { ApiDateTime, ApiInt } from '../../common/api-schema';

/** A consumer: an integrator's application that holds keys, is metered and billed. */
export class ConsumerDto {
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "Acme Corp" */
  name: string;
  /** Your own id for this consumer, unique. @example "acct_4421" */
  externalId: string | null;
  /** @example {"tier":"gold"} */
  metadata: Record<string, unknown>;
  /** @example "active" */
  status: ConsumerStatus;
  /** @example "plan_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  planId: string | null;
  /** Day of the month (1-28) on which billing periods start, UTC. @example 1 */
  @ApiInt()
  billingAnchorDay: number;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  updatedAt: string;
}
