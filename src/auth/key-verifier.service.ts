import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { AppException } from '../common/app.exception';
import { isDatabaseUnavailable } from '../common/db-errors';
import { ErrorCode } from '../common/error-code';
import { Consumer } from '../consumers/consumer.entity';
import { ApiKey } from '../keys/api-key.entity';
import { Plan } from '../plans/plan.entity';
import type { AuthKey } from './auth-key';
import { IpMatcher } from './ip-matcher';
import { KeyCache } from './key-cache';
import { parseKey } from './key-format';
import { KeyHasher } from './key-hasher';

export type VerifyOutcome = { ok: true; key: AuthKey } | { ok: false; code: ErrorCode; key?: AuthKey };

export interface RequestOrigin {
  ip: string;
  origin?: string;
}

export function toAuthKey(key: ApiKey, consumer: Consumer | null, plan: Plan | null): AuthKey {
  return {
    id: key.id,
    kind: key.kind,
    name: key.name,
    environment: key.environment,
    scopes: key.scopes,
    expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
    revokedAt: key.revokedAt ? key.revokedAt.getTime() : null,
    ipMatcher: key.allowedIps.length ? new IpMatcher(key.allowedIps) : null,
    allowedOrigins: key.allowedOrigins.length ? key.allowedOrigins : null,
    rateLimits: key.rateLimits ?? [],
    consumer: consumer && {
      id: consumer.id,
      status: consumer.status,
      planId: consumer.planId,
      billingAnchorDay: consumer.billingAnchorDay,
      createdAt: consumer.createdAt.getTime(),
      plan: plan && { id: plan.id, rateLimits: plan.rateLimits ?? [], quotas: plan.quotas ?? [] },
    },
  };
}

/** Resolves a presented key to its record (cache first) and applies every check that is not a scope. */
@Injectable()
export class KeyVerifier {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: KeyCache,
    private readonly hasher: KeyHasher,
  ) {}

  /**
   * Resolves a presented key. Synchronous when no I/O is needed (malformed key, cache hit, known-missing),
   * so that the guard awaits nothing on the hot path; a promise when the database must be asked.
   */
  verify(plaintext: string, from: RequestOrigin, now = Date.now()): VerifyOutcome | Promise<VerifyOutcome> {
    // Shape and checksum first: a mistyped or made-up key costs no lookup at all.
    if (!parseKey(plaintext)) return { ok: false, code: ErrorCode.INVALID_API_KEY };
    const hash = this.hasher.hash(plaintext);
    const key = this.cache.get(hash);
    if (key) return this.outcome(key, from, now);
    if (this.cache.isKnownMissing(hash)) return { ok: false, code: ErrorCode.INVALID_API_KEY };
    return this.verifyFromDatabase(plaintext, hash, from, now);
  }

  private async verifyFromDatabase(plaintext: string, hash: string, from: RequestOrigin, now: number): Promise<VerifyOutcome> {
    let key: AuthKey | undefined;
    try {
      key = await this.load(plaintext, hash);
    } catch (err) {
      const stale = isDatabaseUnavailable(err) ? this.cache.getStale(hash) : undefined;
      if (!stale) throw isDatabaseUnavailable(err) ? AppException.unavailable() : err;
      key = stale;
    }
    if (!key) {
      this.cache.rememberMissing(hash);
      return { ok: false, code: ErrorCode.INVALID_API_KEY };
    }
    return this.outcome(key, from, now);
  }

  private outcome(key: AuthKey, from: RequestOrigin, now: number): VerifyOutcome {
    const code = this.check(key, from, now);
    return code ? { ok: false, code, key } : { ok: true, key };
  }

  /** Checks in the order a client can act on: revoked beats expired beats suspended beats where-from. */
  check(key: AuthKey, from: RequestOrigin, now = Date.now()): ErrorCode | null {
    if (key.revokedAt !== null && key.revokedAt <= now) return ErrorCode.KEY_REVOKED;
    if (key.expiresAt !== null && key.expiresAt <= now) return ErrorCode.KEY_EXPIRED;
    if (key.consumer && key.consumer.status !== 'active') return ErrorCode.CONSUMER_SUSPENDED;
    if (key.ipMatcher && !key.ipMatcher.allows(from.ip)) return ErrorCode.IP_NOT_ALLOWED;
    if (key.kind === 'publishable' && (!from.origin || !key.allowedOrigins?.includes(from.origin))) {
      return ErrorCode.ORIGIN_NOT_ALLOWED;
    }
    return null;
  }

  private async load(plaintext: string, currentHash: string): Promise<AuthKey | undefined> {
    const candidates =
      this.hasher.secrets.length === 1 ? [{ version: this.hasher.current.version, hash: currentHash }] : this.hasher.candidates(plaintext);
    const rows = await this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .addSelect(['k.hash', 'k.hashVersion'])
      .where({ hash: In(candidates.map((c) => c.hash)) })
      .getMany();
    const row = rows[0];
    if (!row) return undefined;
    if (row.hash !== currentHash) {
      // Found under an older secret: move it to the current one so the old secret can be retired.
      await this.dataSource
        .getRepository(ApiKey)
        .update({ id: row.id }, { hash: currentHash, hashVersion: this.hasher.current.version });
    }
    const consumer = row.consumerId ? await this.dataSource.getRepository(Consumer).findOneBy({ id: row.consumerId }) : null;
    const plan = consumer?.planId ? await this.dataSource.getRepository(Plan).findOneBy({ id: consumer.planId }) : null;
    const key = toAuthKey(row, consumer, plan);
    this.cache.set(currentHash, key);
    return key;
  }
}
