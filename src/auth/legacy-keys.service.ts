import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { compare } from 'bcryptjs';
import { DataSource, In, IsNull, Not } from 'typeorm';
import { Transactions } from '../database/transactions';
import { ApiKey } from '../keys/api-key.entity';
import { KeyHasher } from './key-hasher';
import { type ImportSecret, lookupsOf } from './legacy-hash';

/** More rows than this sharing a presented key's bcrypt starts are not compared (an import keeps starts unique). */
const MAX_BCRYPT_COMPARES = 3;

/**
 * Imported keys still stored under their old system's hash. Asked only when a presented key matched no
 * Tollgate hash, and the answer (found or not) is cached by the caller like any other read: a key found
 * here is re-hashed to Tollgate's HMAC at once, so that it is looked up like every other key from then on
 * and the old hash is no longer stored.
 */
@Injectable()
export class LegacyKeys {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly hasher: KeyHasher,
  ) {}

  /** Finds `plaintext` among keys stored under an old scheme and re-hashes it to `hash`; whether it was found. */
  async adopt(plaintext: string, hash: string): Promise<boolean> {
    const secrets: ImportSecret[] = await this.dataSource
      .createQueryBuilder()
      .select(['s.id AS id', 's.secret AS secret'])
      .from('key_import_secrets', 's')
      .getRawMany();
    const rows = await this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .select(['k.id', 'k.hash', 'k.legacyScheme', 'k.legacyHash'])
      .where({ hash: In(lookupsOf(plaintext, secrets)), legacyScheme: Not(IsNull()) })
      .getMany();
    let match: ApiKey | undefined;
    let compared = 0;
    for (const row of rows) {
      if (row.legacyScheme !== 'bcrypt') {
        match = row;
        break;
      }
      if (compared++ >= MAX_BCRYPT_COMPARES || !row.legacyHash) continue;
      if (await compare(plaintext, row.legacyHash)) {
        match = row;
        break;
      }
    }
    if (!match) return false;
    const id = match.id;
    const lookup = match.hash;
    // Guarded by the lookup: of two instances adopting the key at once, one writes; both then find it by `hash`.
    await this.tx.run((m) =>
      m.getRepository(ApiKey).update({ id, hash: lookup }, { hash, hashVersion: this.hasher.current.version, legacyScheme: null, legacyHash: null }),
    );
    return true;
  }
}
