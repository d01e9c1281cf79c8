import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimeColumn } from '../database/columns';
import type { PlanSnapshot } from '../plans/plan-snapshot';

export type PeriodStatus = 'open' | 'closed';

/** One consumer's `[start, end)` in UTC, with the plan as it was when the period opened. */
@Entity('billing_periods')
export class BillingPeriod {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ name: 'consumer_id', type: 'varchar', length: 40 })
  consumerId: string;

  @TimeColumn()
  start: Date;

  @TimeColumn()
  end: Date;

  @Column({ type: 'varchar', length: 16 })
  status: PeriodStatus;

  @Column({ name: 'plan_id', type: 'varchar', length: 40, nullable: true })
  planId: string | null;

  /** Null when the consumer had no plan: metered, billed nothing. */
  @Column({ name: 'plan_snapshot', type: 'simple-json', nullable: true })
  planSnapshot: PlanSnapshot | null;

  @TimeColumn({ name: 'closed_at', nullable: true })
  closedAt: Date | null;

  @TimeColumn({ name: 'created_at' })
  createdAt: Date;
}
