import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { JsonObject, JsonColumn, TimeColumn } from '../database/columns';

@Entity('audit_entries')
export class AuditEntry {
  @PrimaryGeneratedColumn({ type: 'integer' })
  seq: number;

  @Column({ type: 'varchar', length: 40 })
  id: string;

  @Column({ name: 'actor_key_id', type: 'varchar', length: 40, nullable: true })
  actorKeyId: string | null;

  @Column({ type: 'varchar', length: 64 })
  action: string;

  @Column({ name: 'target_type', type: 'varchar', length: 32 })
  targetType: string;

  @Column({ name: 'target_id', type: 'varchar', length: 40, nullable: true })
  targetId: string | null;

  @JsonColumn({ nullable: true })
  before: JsonObject | null;

  @JsonColumn({ nullable: true })
  after: JsonObject | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  @TimeColumn()
  at: Date;

  @Column({ name: 'prev_hash', type: 'varchar', length: 64 })
  prevHash: string;

  @Column({ type: 'varchar', length: 64 })
  hash: string;

  /** The exact text that was hashed; the chain is checked against this, never a re-serialised entity. */
  @Column({ type: 'text' })
  canonical: string;
}
