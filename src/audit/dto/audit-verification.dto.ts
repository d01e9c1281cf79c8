import { ApiProperty } from '@nestjs/swagger';
import { ApiInt, nullableRef, OrNull } from '../../common/api-schema';

/** The first entry at which the chain does not hold. */
export class AuditChainBreakDto {
  /** The entry that fails the check (for a cut-off tail: the last entry left). @example "aud_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string | null;
  /** @example 42 */
  @ApiInt()
  seq: number;
  /** @example "stored after differs from the hashed canonical text" */
  reason: string;
}

export class AuditVerificationDto {
  /** True when every entry links to the one before it and matches its hash. @example true */
  valid: boolean;
  /** Entries found intact, from the start of the log, before the first problem or the end of this page. @example 1204 */
  @ApiInt()
  checked: number;
  /** Null when valid. */
  @ApiProperty({ type: undefined, oneOf: nullableRef(AuditChainBreakDto) })
  firstInvalid: OrNull<AuditChainBreakDto>;
  /**
   * Hash of the last entry checked (on the last page: of the whole log). Keep it outside the database (a ticket, your log pipeline): rewriting
   * any entry means recomputing every later hash, so the entry that had this hash would no longer have it.
   * @example "4b1a…"
   */
  headHash: string;
  /**
   * Set when the log goes on past this request's `limit`: pass it as `cursor` to check the next entries.
   * Null when the check reached the end of the log (and compared it with the chain head) or found a problem.
   */
  nextCursor: string | null;
}
