import { Column, Entity, PrimaryColumn } from 'typeorm';
import { JsonObject, JsonColumn, TimeColumn } from '../database/columns';

export type ConsumerStatus = 'active' | 'suspended';

@Entity('consumers')
export class Consumer {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ name: 'external_id', type: 'varchar', length: 200, nullable: true })
  externalId: string | null;

  @JsonColumn()
  metadata: JsonObject;

  @Column({ type: 'varchar', length: 16 })
  status: ConsumerStatus;

  @Column({ name: 'plan_id', type: 'varchar', length: 40, nullable: true })
  planId: string | null;

  @Column({ name: 'billing_anchor_day', type: 'int', default: 1 })
  billingAnchorDay: number;

  @TimeColumn({ name: 'created_at' })
  createdAt: Date;

  @TimeColumn({ name: 'updated_at' })
  updatedAt: Date;
}
