import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BigIntColumn, JsonColumn, TimeColumn } from '../database/columns';
import type { BilledLine, ClosingUsage } from './billing.types';

/** The invoice written when a period closes; never changed afterwards. */
@Entity('invoices')
export class Invoice {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ name: 'period_id', type: 'varchar', length: 40 })
  periodId: string;

  @Column({ name: 'consumer_id', type: 'varchar', length: 40 })
  consumerId: string;

  /** Null for a period without a plan. */
  @Column({ type: 'varchar', length: 3, nullable: true })
  currency: string | null;

  @TimeColumn({ name: 'period_start' })
  periodStart: Date;

  @TimeColumn({ name: 'period_end' })
  periodEnd: Date;

  @JsonColumn()
  lines: BilledLine[];

  @BigIntColumn({ name: 'total_minor' })
  totalMinor: number;

  /** Live usage of the period's last days as it stood at close; the next period measures what arrived late against it. */
  @Column({ name: 'range_usage', type: 'simple-json', nullable: true })
  rangeUsage: ClosingUsage | null;

  @TimeColumn({ name: 'created_at' })
  createdAt: Date;
}
