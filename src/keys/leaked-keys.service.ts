import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { CacheInvalidationService } from '../auth/cache-invalidation.service';
import { parseKey } from '../auth/key-format';
import { KeyHasher } from '../auth/key-hasher';
import { OriginRegistry } from '../auth/origin-registry.service';
import { isSubset } from '../auth/scopes';
import { Actor } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { dialectOf } from '../database/dialect';
import { Transactions } from '../database/transactions';
import { ApiKey } from './api-key.entity';
import { toKeyDto } from './api-keys.service';
import { LeakedKeyReportDto } from './dto/report-leaked-key.dto';
import { keepOneRootKey } from './root-key';

/**
 * Revokes a key found in the wild by its plaintext (secret scanners, the CLI). The report is audited with
 * where it came from, in the same transaction as the revocation, which emits key.revoked (the first time)
 * and key.leaked (every report).
 */
@Injectable()
export class LeakedKeysService {
  constructor(
    private readonly tx: Transactions,
    private readonly hasher: KeyHasher,
    private readonly audit: AuditService,
    private readonly invalidate: CacheInvalidationService,
    private readonly origins: OriginRegistry,
  ) {}

  async report(actor: Actor, plaintext: string, source: string | null): Promise<LeakedKeyReportDto> {
    if (!parseKey(plaintext)) throw AppException.validation([{ field: 'key', message: 'is not a well-formed key (wrong shape or checksum)' }]);
    const hashes = this.hasher.candidates(plaintext).map((c) => c.hash);
    const out = await this.tx.run(async (m) => {
      const qb = m.getRepository(ApiKey).createQueryBuilder('k').where({ hash: In(hashes) });
      dialectOf(m).lockForUpdate(qb);
      const key = await qb.getOne();
      if (!key) throw AppException.notFound('API key');
      if (key.kind === 'admin' && !isSubset(key.scopes, actor.scopes)) {
        throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'A key cannot revoke an admin key that holds scopes it does not hold');
      }
      const newlyRevoked = key.revokedAt === null;
      if (newlyRevoked && key.kind === 'admin' && key.scopes.includes('*')) await keepOneRootKey(m, key.id);
      if (newlyRevoked) {
        key.revokedAt = new Date();
        key.updatedAt = key.revokedAt;
        await m.save(ApiKey, key);
      }
      await this.audit.record(m, actor, {
        action: 'key.leak',
        targetType: 'key',
        targetId: key.id,
        before: { revokedAt: newlyRevoked ? null : key.revokedAt!.toISOString() },
        after: { revokedAt: key.revokedAt!.toISOString(), source, newlyRevoked },
      });
      return { key: toKeyDto(key), alreadyRevoked: !newlyRevoked, source };
    });
    this.invalidate.key(out.key.id);
    if (out.key.kind === 'publishable') await this.origins.reload();
    return out;
  }
}
