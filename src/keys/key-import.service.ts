import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import type { AuthKey } from '../auth/auth-key';
import { cacheKeyOf, KeyCache } from '../auth/key-cache';
import { startOf } from '../auth/key-format';
import { KeyHasher } from '../auth/key-hasher';
import {
  BCRYPT_MAX_COST,
  BCRYPT_PATTERN,
  BCRYPT_START_MAX,
  BCRYPT_START_MIN,
  hasTollgateShape,
  hmacLookupValue,
  legacyLookup,
  normalizeDigest,
  plaintextKeyProblem,
  secretId,
} from '../auth/legacy-hash';
import { OriginRegistry } from '../auth/origin-registry.service';
import { Actor } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { AppException, FieldError } from '../common/app.exception';
import { isDuplicateKey } from '../common/db-errors';
import { ErrorCode } from '../common/error-code';
import { newId } from '../common/ids';
import { Consumer } from '../consumers/consumer.entity';
import { sqlTime } from '../database/sql';
import { Transactions } from '../database/transactions';
import { ApiKey } from './api-key.entity';
import { ApiKeysService, toKeyDto } from './api-keys.service';
import type { Reach } from './key-bounds';
import { ApiKeyDto } from './dto/api-key.dto';
import { ImportKeyDto } from './dto/import-keys.dto';

/** One key of a batch, with the consumer it goes to and how errors name it (`keys[3]`, `line 4`). */
export interface ImportEntry {
  consumerId: string;
  dto: ImportKeyDto;
  label: string;
}

/**
 * bcrypt keys per batch. Each costs one bcrypt comparison (tens of milliseconds of CPU) at its first use
 * and is found by its start, so bcrypt is for the few keys an old system kept that way, not for bulk.
 */
export const BCRYPT_BATCH_MAX = 1000;
export const PLAINTEXT_MAX_LENGTH = 256;
/** Details listed in one VALIDATION_FAILED answer; the message says how many more there were. */
const MAX_DETAILS = 100;
/** Rows per INSERT and values per IN (): well inside MySQL's and SQLite's limits on bound parameters. */
const CHUNK = 500;

interface Prepared {
  entry: ImportEntry;
  row: ApiKey;
  /** The presented key's cache id, when it can be known (plaintext, SHA-256): its negative entry is dropped. */
  cacheId: string | null;
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const KEY_COLUMNS = [
  'id', 'consumer_id', 'kind', 'name', 'environment', 'start', 'hash', 'hash_version', 'legacy_scheme', 'legacy_hash', 'external_id',
  'scopes', 'expires_at', 'revoked_at', 'last_used_at', 'allowed_ips', 'allowed_origins', 'rate_limits', 'metadata', 'rotated_from_id',
  'created_by_key_id', 'created_at', 'updated_at',
];
const time = (d: Date | null) => (d === null ? null : sqlTime(d));

/**
 * One multi-row INSERT, written out: TypeORM's insert builder spends far longer per value (metadata
 * lookups, per-column escaping) than the database spends storing it, most of an import's time at 100k keys.
 */
async function insertKeys(m: EntityManager, rows: ApiKey[]): Promise<void> {
  const row = `(${KEY_COLUMNS.map(() => '?').join(', ')})`;
  const params: unknown[] = [];
  for (const k of rows) {
    params.push(
      k.id, k.consumerId, k.kind, k.name, k.environment, k.start, k.hash, k.hashVersion, k.legacyScheme, k.legacyHash, k.externalId,
      JSON.stringify(k.scopes), time(k.expiresAt), time(k.revokedAt), time(k.lastUsedAt), JSON.stringify(k.allowedIps),
      JSON.stringify(k.allowedOrigins), JSON.stringify(k.rateLimits), JSON.stringify(k.metadata), k.rotatedFromId,
      k.createdByKeyId, time(k.createdAt), time(k.updatedAt),
    );
  }
  await m.query(`INSERT INTO api_keys (${KEY_COLUMNS.join(', ')}) VALUES ${rows.map(() => row).join(', ')}`, params);
}

/** What a key not in Tollgate's format shows of itself: a quarter of it, at most 8 characters. */
function foreignStart(key: string): string {
  return key.slice(0, Math.min(8, Math.floor(key.length / 4)));
}

/**
 * Brings keys issued by another system, all of a batch or none: each within the bounds a created key
 * would have, stored as Tollgate stores keys (plaintext given) or under a lookup derived from the old
 * hash until its first use re-hashes it (see src/auth/legacy-keys.service.ts). Rows go in multi-row
 * inserts; one audit entry records the batch.
 */
@Injectable()
export class KeyImportService {
  constructor(
    private readonly tx: Transactions,
    private readonly hasher: KeyHasher,
    private readonly keys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly cache: KeyCache,
    private readonly origins: OriginRegistry,
  ) {}

  async import(caller: AuthKey, actor: Actor, entries: ImportEntry[], hashSecret?: string): Promise<ApiKeyDto[]> {
    const prepared = this.prepare(caller, await this.keys.reachOfCaller(caller), entries, hashSecret);
    const rows = prepared.map((p) => p.row);
    const consumerIds = [...new Set(entries.map((e) => e.consumerId))];
    await this.tx.run(async (m) => {
      await this.refuseMissingConsumers(m, prepared);
      await this.refuseStored(m, prepared);
      if (hashSecret !== undefined && rows.some((r) => r.legacyScheme === 'hmac-sha256')) {
        await m
          .createQueryBuilder()
          .insert()
          .into('key_import_secrets', ['id', 'secret', 'created_at'])
          .values({ id: secretId(hashSecret), secret: hashSecret, created_at: new Date() })
          .orIgnore()
          .execute();
      }
      try {
        for (const part of chunks(rows)) await insertKeys(m, part);
      } catch (err) {
        // Checked above; only a concurrent import or create of the same key gets here.
        if (isDuplicateKey(err)) throw AppException.conflict('A key or externalId of the batch was stored meanwhile; nothing was imported');
        throw err;
      }
      const schemes: Record<string, number> = {};
      for (const r of rows) schemes[r.legacyScheme ?? 'plaintext'] = (schemes[r.legacyScheme ?? 'plaintext'] ?? 0) + 1;
      await this.audit.record(m, actor, {
        action: 'key.import',
        targetType: 'consumer',
        targetId: consumerIds.length === 1 ? consumerIds[0] : null,
        after: { imported: rows.length, consumers: consumerIds.length, schemes },
      });
    });
    // A key presented (and refused) shortly before its import is remembered as missing: forget it where
    // the presented key's cache id is known. Other hashed keys wait out NEGATIVE_CACHE_TTL_SECONDS at most.
    for (const p of prepared) if (p.cacheId) this.cache.forgetMissing(p.cacheId);
    if (rows.some((r) => r.kind === 'publishable')) await this.origins.reload();
    return rows.map(toKeyDto);
  }

  /** Every check that needs no database, over the whole batch, so that one answer lists every bad entry. */
  private prepare(caller: AuthKey, reach: Reach, entries: ImportEntry[], hashSecret: string | undefined): Prepared[] {
    const problems: FieldError[] = [];
    const out: Prepared[] = [];
    const byHash = new Map<string, string>();
    const byExternalId = new Map<string, string>();
    let bcrypts = 0;
    const now = new Date();
    for (const entry of entries) {
      const { dto, label, consumerId } = entry;
      const problem = (field: string, message: string) => problems.push({ field: `${label}.${field}`, message });
      const before = problems.length;
      let bounds: ReturnType<ApiKeysService['boundsOfNewKey']> | undefined;
      try {
        bounds = this.keys.boundsOfNewKey(caller, consumerId, dto, reach);
      } catch (err) {
        if (!(err instanceof AppException)) throw err;
        if (err.code !== ErrorCode.VALIDATION_FAILED) throw new AppException(err.code, `${label}: ${err.message}`);
        for (const d of err.extra.details ?? []) problem(d.field, d.message);
      }
      let hash = '';
      let start = dto.start ?? '';
      let legacyScheme: ApiKey['legacyScheme'] = null;
      let legacyHash: string | null = null;
      let cacheId: string | null = null;
      if ((dto.key === undefined) === (dto.hash === undefined)) {
        problem('key', 'give either key (the plaintext) or hash (with algorithm)');
      } else if (dto.key !== undefined) {
        if (dto.algorithm !== undefined) problem('algorithm', 'goes with hash, not with key');
        if (dto.start !== undefined) problem('start', 'is derived from key');
        const why = plaintextKeyProblem(dto.key, PLAINTEXT_MAX_LENGTH);
        if (why) problem('key', why);
        hash = this.hasher.hash(dto.key);
        start = hasTollgateShape(dto.key) ? startOf(dto.key) : foreignStart(dto.key);
        cacheId = cacheKeyOf(dto.key);
      } else {
        const value = dto.hash!;
        legacyScheme = dto.algorithm ?? null;
        switch (dto.algorithm) {
          case undefined:
            problem('algorithm', 'is required with hash: sha256, sha512, hmac-sha256 or bcrypt');
            break;
          case 'sha256':
          case 'sha512': {
            const hex = normalizeDigest(value, dto.algorithm === 'sha256' ? 32 : 64);
            if (!hex) problem('hash', `is not a ${dto.algorithm} digest in hex or base64`);
            else hash = legacyLookup(dto.algorithm, hex);
            // The cache remembers a presented key by its SHA-256 (base64): known here without the key.
            if (hex && dto.algorithm === 'sha256') cacheId = Buffer.from(hex, 'hex').toString('base64');
            break;
          }
          case 'hmac-sha256': {
            const hex = normalizeDigest(value, 32);
            if (!hex) problem('hash', 'is not an HMAC-SHA256 digest in hex or base64');
            if (hashSecret === undefined) problem('hash', 'an hmac-sha256 hash needs the batch’s hashSecret');
            if (hex && hashSecret !== undefined) hash = legacyLookup('hmac-sha256', hmacLookupValue(secretId(hashSecret), hex));
            break;
          }
          case 'bcrypt': {
            const m = BCRYPT_PATTERN.exec(value);
            if (!m) problem('hash', 'is not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters of salt and hash)');
            else if (Number(m[1]) > BCRYPT_MAX_COST) problem('hash', `has cost ${Number(m[1])}; at most ${BCRYPT_MAX_COST} is accepted`);
            if (dto.start === undefined || dto.start.length < BCRYPT_START_MIN || dto.start.length > BCRYPT_START_MAX) {
              problem('start', `a bcrypt key needs its first ${BCRYPT_START_MIN} to ${BCRYPT_START_MAX} characters, by which it is found`);
            } else {
              hash = legacyLookup('bcrypt', dto.start);
            }
            legacyHash = value;
            if (++bcrypts === BCRYPT_BATCH_MAX + 1) problem('hash', `at most ${BCRYPT_BATCH_MAX} bcrypt keys per batch`);
            break;
          }
        }
      }
      if (hash) {
        const other = byHash.get(hash);
        if (other !== undefined) {
          problem(dto.key !== undefined ? 'key' : dto.algorithm === 'bcrypt' ? 'start' : 'hash', `the same key as ${other}${dto.algorithm === 'bcrypt' ? ' (bcrypt keys are found by their start, which must differ)' : ''}`);
        } else {
          byHash.set(hash, label);
        }
      }
      if (dto.externalId !== undefined) {
        const k = `${consumerId}\u0000${dto.externalId}`;
        const other = byExternalId.get(k);
        if (other !== undefined) problem('externalId', `the same externalId as ${other} for this consumer`);
        else byExternalId.set(k, label);
      }
      if (problems.length > before || !bounds) continue;
      const row = Object.assign(new ApiKey(), {
        id: newId('key', now.getTime()),
        consumerId,
        kind: bounds.kind,
        name: dto.name,
        environment: bounds.environment,
        start,
        hash,
        hashVersion: legacyScheme ? 0 : this.hasher.current.version,
        legacyScheme,
        legacyHash,
        externalId: dto.externalId ?? null,
        scopes: dto.scopes,
        expiresAt: bounds.expiresAt,
        revokedAt: null,
        lastUsedAt: null,
        allowedIps: bounds.allowedIps,
        allowedOrigins: dto.allowedOrigins ?? [],
        rateLimits: dto.rateLimits?.map((r) => ({ name: r.name, limit: r.limit, windowSeconds: r.windowSeconds })) ?? [],
        metadata: dto.metadata ?? {},
        rotatedFromId: null,
        createdByKeyId: null,
        createdAt: now,
        updatedAt: now,
      } satisfies ApiKey);
      out.push({ entry, row, cacheId });
    }
    if (problems.length) {
      const shown = problems.slice(0, MAX_DETAILS);
      const more = problems.length - shown.length;
      throw AppException.validation(shown, `The batch has ${problems.length} problem(s)${more ? ` (the first ${MAX_DETAILS} are listed)` : ''}; nothing was imported`);
    }
    return out;
  }

  private async refuseMissingConsumers(m: EntityManager, prepared: Prepared[]): Promise<void> {
    const ids = [...new Set(prepared.map((p) => p.entry.consumerId))];
    const found = new Set<string>();
    for (const part of chunks(ids)) {
      for (const c of await m.getRepository(Consumer).find({ select: { id: true }, where: { id: In(part) } })) found.add(c.id);
    }
    const missing = prepared.find((p) => !found.has(p.entry.consumerId));
    if (missing) throw new AppException(ErrorCode.NOT_FOUND, `Consumer ${missing.entry.consumerId} not found (${missing.entry.label}); nothing was imported`);
  }

  /** Keys already stored (the same hash or lookup) or external ids already taken under the consumer: 409, naming them. */
  private async refuseStored(m: EntityManager, prepared: Prepared[]): Promise<void> {
    const clashes: string[] = [];
    const byHash = new Map(prepared.map((p) => [p.row.hash, p.entry.label]));
    for (const part of chunks([...byHash.keys()])) {
      const rows = await m.getRepository(ApiKey).createQueryBuilder('k').select('k.hash', 'hash').where({ hash: In(part) }).getRawMany<{ hash: string }>();
      for (const r of rows) clashes.push(`${byHash.get(r.hash)} is already stored here (the same key, or a bcrypt key with the same start)`);
    }
    const withExternal = new Map<string, Map<string, string>>();
    for (const p of prepared) {
      if (p.row.externalId === null) continue;
      let ofConsumer = withExternal.get(p.entry.consumerId);
      if (!ofConsumer) withExternal.set(p.entry.consumerId, (ofConsumer = new Map()));
      ofConsumer.set(p.row.externalId, p.entry.label);
    }
    for (const [consumerId, byExternal] of withExternal) {
      for (const part of chunks([...byExternal.keys()])) {
        const rows = await m
          .getRepository(ApiKey)
          .createQueryBuilder('k')
          .select('k.externalId', 'externalId')
          .where({ consumerId, externalId: In(part) })
          .getRawMany<{ externalId: string }>();
        for (const r of rows) clashes.push(`${byExternal.get(r.externalId)}: externalId "${r.externalId}" is taken by another key of the consumer`);
      }
    }
    if (clashes.length) {
      const listed = clashes.slice(0, 20).join('; ');
      throw AppException.conflict(`${clashes.length} key(s) of the batch clash with stored keys; nothing was imported: ${listed}${clashes.length > 20 ? '; …' : ''}`);
    }
  }
}
