import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BigIntColumn, JsonColumn, TimeColumn } from '../database/columns';
import type { BilledLine } from './billing.types';

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

  /** Live usage per metric inside the period's own range when it closed; the next period's carry is measured against it. */
  @Column({ name: 'range_usage', type: 'simple-json', nullable: true })
  rangeUsage: Record<string, number> | null;

  @TimeColumn({ name: 'created_at' })
  createdAt: Date;
}
