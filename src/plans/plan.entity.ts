import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { QuotaRule, RateLimitRule } from '../auth/auth-key';
import type { Price } from '../billing/pricing/pricing.types';
import { BigIntColumn, JsonObject, JsonColumn, TimeColumn } from '../database/columns';

@Entity('plans')
export class Plan {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 3 })
  currency: string;

  @BigIntColumn({ name: 'base_fee_minor', default: 0 })
  baseFeeMinor: number;

  @JsonColumn({ name: 'rate_limits' })
  rateLimits: RateLimitRule[];

  @JsonColumn()
  quotas: QuotaRule[];

  @JsonColumn()
  prices: Price[];

  @JsonColumn()
  metadata: JsonObject;

  @TimeColumn({ name: 'created_at' })
  createdAt: Date;

  @TimeColumn({ name: 'updated_at' })
  updatedAt: Date;
}
