import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RateLimitRule } from '../auth/auth-key';
import type { KeyEnvironment } from '../auth/key-format';
import type { KeyKind } from '../auth/scopes';
import { JsonObject, JsonColumn, TimeColumn } from '../database/columns';

@Entity('api_keys')
export class ApiKey {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @Column({ name: 'consumer_id', type: 'varchar', length: 40, nullable: true })
  consumerId: string | null;

  @Column({ type: 'varchar', length: 16 })
  kind: KeyKind;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'varchar', length: 8 })
  environment: KeyEnvironment;

  @Column({ type: 'varchar', length: 40 })
  start: string;

  /** HMAC-SHA256 of the key; never selected unless asked for. */
  @Column({ type: 'varchar', length: 64, select: false })
  hash: string;

  @Column({ name: 'hash_version', type: 'int', default: 1, select: false })
  hashVersion: number;

  /** An imported key still stored under its old system's scheme (`hash` then holds a lookup, see legacy-hash.ts); null once re-hashed. */
  @Column({ name: 'legacy_scheme', type: 'varchar', length: 16, nullable: true, select: false })
  legacyScheme: string | null;

  /** A bcrypt key's bcrypt string until its first use re-hashes it. */
  @Column({ name: 'legacy_hash', type: 'varchar', length: 100, nullable: true, select: false })
  legacyHash: string | null;

  /** The id an imported key had in the system it came from; unique per consumer. */
  @Column({ name: 'external_id', type: 'varchar', length: 200, nullable: true })
  externalId: string | null;

  @JsonColumn()
  scopes: string[];

  @TimeColumn({ name: 'expires_at', nullable: true })
  expiresAt: Date | null;

  @TimeColumn({ name: 'revoked_at', nullable: true })
  revokedAt: Date | null;

  @TimeColumn({ name: 'last_used_at', nullable: true })
  lastUsedAt: Date | null;

  @JsonColumn({ name: 'allowed_ips' })
  allowedIps: string[];

  @JsonColumn({ name: 'allowed_origins' })
  allowedOrigins: string[];

  @JsonColumn({ name: 'rate_limits' })
  rateLimits: RateLimitRule[];

  @JsonColumn()
  metadata: JsonObject;

  @Column({ name: 'rotated_from_id', type: 'varchar', length: 40, nullable: true })
  rotatedFromId: string | null;

  @Column({ name: 'created_by_key_id', type: 'varchar', length: 40, nullable: true })
  createdByKeyId: string | null;

  @TimeColumn({ name: 'created_at' })
  createdAt: Date;

  @TimeColumn({ name: 'updated_at' })
  updatedAt: Date;
}
