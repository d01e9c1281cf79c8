import type { EntityManager } from 'typeorm';
import { AppException } from '../common/app.exception';
import { dialectOf } from '../database/dialect';
import { ApiKey } from './api-key.entity';

/** The last active admin key holding `*` is how operators get back in; it cannot be revoked or narrowed. */
export async function keepOneRootKey(m: EntityManager, exceptId: string): Promise<void> {
  const now = new Date();
  const qb = m
    .getRepository(ApiKey)
    .createQueryBuilder('k')
    .where('k.kind = :kind', { kind: 'admin' })
    .andWhere('k.id != :id', { id: exceptId })
    .andWhere('k.revoked_at IS NULL')
    .andWhere('(k.expires_at IS NULL OR k.expires_at > :now)', { now });
  // A locking read on MySQL: two transactions revoking the last two root keys at once must not both
  // see the other as still active (InnoDB detects the lock cycle; Transactions retries the loser).
  dialectOf(m).lockForUpdate(qb);
  const others = await qb.getMany();
  if (!others.some((k) => k.scopes.includes('*'))) {
    throw AppException.conflict('This is the last active admin key with scope *; create another one first');
  }
}
