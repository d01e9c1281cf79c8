import { ApiProperty } from '@nestjs/swagger';
import { ApiDateTime, ApiInt } from '../../common/api-schema';

/** One change: who made it, to what, and the state before and after (secrets and hashes left out). */
export class AuditEntryDto {
  /** Position in the chain; entries are hashed in this order. @example 42 */
  @ApiInt()
  seq: number;
  /** @example "aud_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** The admin or consumer key that made the change; null for changes made by the service itself or the CLI. @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  actorKeyId: string | null;
  /** `<targetType>.<verb>`, e.g. consumer.create, key.revoke, key.rotate. @example "key.revoke" */
  action: string;
  /** @example "key" */
  targetType: string;
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  targetId: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'State before the change (null for creations).', example: { revokedAt: null } })
  before: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'State after the change (null for deletions).', example: { revokedAt: '2026-11-22T10:00:00.000Z' } })
  after: Record<string, unknown> | null;
  /** Client address of the request that made the change. @example "203.0.113.7" */
  ip: string | null;
  /** The request id (X-Request-Id) of that request. @example "req_8f3c0d2b9a1e4c7f" */
  requestId: string | null;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  at: string;
  /** Hash of the previous entry (64 zeros for the first). @example "9f2c…" */
  prevHash: string;
  /** sha256(prevHash + canonical text of this entry), hex. @example "4b1a…" */
  hash: string;
}
