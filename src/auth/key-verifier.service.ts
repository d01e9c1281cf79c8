import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { AppException } from '../common/app.exception';
import { isDatabaseUnavailable } from '../common/db-errors';
import { ErrorCode } from '../common/error-code';
import { Consumer } from '../consumers/consumer.entity';
import { Transactions } from '../database/transactions';
import { ApiKey } from '../keys/api-key.entity';
import { Plan } from '../plans/plan.entity';
import type { AuthKey } from './auth-key';
import { IpMatcher } from './ip-matcher';
import { type CachedKey, cacheKeyOf, KeyCache, KeyCacheEntry } from './key-cache';
import { MAX_KEY_LENGTH, parseKey } from './key-format';
import { KeyHasher } from './key-hasher';
import { mayBeForeignKey } from './legacy-hash';
import { LegacyKeys } from './legacy-keys.service';

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

/** A key row with its consumer and plan, as one joined read returns them. */
type KeyRow = ApiKey & { consumer: Consumer | null; plan: Plan | null };

/** Reads of a key never seen that are retried when an invalidation lands while they run. */
const FILL_ATTEMPTS = 3;
/**
 * Refreshes claimed within this long share one read (up to REFRESH_BATCH_MAX keys): building and running
 * a joined TypeORM query costs far more than the rows it returns, and with 1000 keys in turn a 10 s TTL
 * means 100 refreshes a second. A record keeps answering while its refresh waits; invalidations still
 * drop it at once.
 */
const REFRESH_BATCH_MS = 50;
const REFRESH_BATCH_MAX = 200;

interface ClaimedRefresh {
  id: string;
  entry: KeyCacheEntry;
  ticket: number;
}

/** A key row read with its consumer and plan, as the cache keeps it. */
function cached(row: KeyRow, hash: string): CachedKey {
  // The row with its consumer and plan, every column but the key's lastUsedAt (written by every usage
  // flush): any change to any of them gives another version.
  return { key: toAuthKey(row, row.consumer, row.plan), hash, version: JSON.stringify(row, (name: string, value: unknown) => (name === 'lastUsedAt' ? undefined : value)) };
}

/**
 * Resolves a presented key to its record and applies every check that is not a scope. Cached records
 * are served at once and refreshed in the background when old (see KeyCache); the database is asked on
 * the request path only for a key this instance has not seen, once per key however many requests wait.
 */
@Injectable()
export class KeyVerifier implements OnModuleDestroy {
  private readonly logger = new Logger(KeyVerifier.name);
  private readonly loading = new Map<string, Promise<AuthKey | undefined>>();
  private claimed: ClaimedRefresh[] = [];
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: KeyCache,
    private readonly hasher: KeyHasher,
    private readonly tx: Transactions,
    private readonly legacy: LegacyKeys,
  ) {}

  /**
   * Resolves a presented key. Synchronous when no I/O is needed (malformed key, cached record,
   * known-missing), so that the guard awaits nothing on the hot path; a promise when the database must be asked.
   */
  verify(plaintext: string, from: RequestOrigin, now = Date.now()): VerifyOutcome | Promise<VerifyOutcome> {
    if (plaintext.length > MAX_KEY_LENGTH) return { ok: false, code: ErrorCode.INVALID_API_KEY };
    // A cached record answers for a key seen before: one SHA-256, no HMAC, no checksum (it was checked
    // when the key was first seen). Only keys never seen pay for the checksum, the HMAC and the read.
    const id = cacheKeyOf(plaintext);
    const entry = this.cache.lookup(id);
    if (entry) {
      if (this.cache.claimRefresh(entry)) this.refresh(id, entry);
      return this.outcome(entry.key, from, now);
    }
    if (this.cache.isKnownMissing(id)) return { ok: false, code: ErrorCode.INVALID_API_KEY };
    // Shape and checksum: a mistyped or made-up key costs no lookup at all. Keys imported from another
    // system may have neither; those that could be one are looked up (and negative-cached) instead.
    if (!parseKey(plaintext) && !mayBeForeignKey(plaintext)) return { ok: false, code: ErrorCode.INVALID_API_KEY };
    return this.verifyFromDatabase(plaintext, id, from, now);
  }

  private async verifyFromDatabase(plaintext: string, id: string, from: RequestOrigin, now: number): Promise<VerifyOutcome> {
    let key: AuthKey | undefined;
    try {
      key = await this.fill(plaintext, id);
    } catch (err) {
      throw isDatabaseUnavailable(err) ? AppException.unavailable() : err;
    }
    if (!key) return { ok: false, code: ErrorCode.INVALID_API_KEY };
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

  /** One read per key never seen, shared by every request that presents it meanwhile. */
  private fill(plaintext: string, id: string): Promise<AuthKey | undefined> {
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.load(plaintext, id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async load(plaintext: string, id: string): Promise<AuthKey | undefined> {
    for (let attempt = 1; ; attempt++) {
      const ticket = this.cache.beginFill();
      let found: CachedKey | undefined;
      try {
        found = await this.read(plaintext);
      } catch (err) {
        this.cache.abortFill(ticket);
        throw err;
      }
      // Changed while we read (revoked, suspended, …): read again, so the answer is not older than the change.
      if (this.cache.completeFill(ticket, id, found) || attempt >= FILL_ATTEMPTS) return found?.key;
    }
  }

  /**
   * Off the request path: the cached record keeps answering until the new one lands or is dropped. The
   * read waits for the batch (never inside the current request's guards: building the query is not free,
   * and a synchronous driver runs it at once), but is fenced from the moment it was claimed.
   */
  private refresh(id: string, entry: KeyCacheEntry): void {
    this.claimed.push({ id, entry, ticket: this.cache.beginFill() });
    if (this.refreshTimer === null) {
      this.refreshTimer = setTimeout(() => this.refreshClaimed(), REFRESH_BATCH_MS);
      this.refreshTimer.unref();
    }
  }

  /** On shutdown, refreshes still waiting for their batch are dropped: the database is about to close. */
  onModuleDestroy(): void {
    if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    for (const { entry, ticket } of this.claimed.splice(0)) {
      entry.refreshing = false;
      this.cache.abortFill(ticket);
    }
  }

  private refreshClaimed(): void {
    const batch = this.claimed.splice(0, REFRESH_BATCH_MAX);
    this.refreshTimer = null;
    if (this.claimed.length) {
      this.refreshTimer = setTimeout(() => this.refreshClaimed(), 0);
      this.refreshTimer.unref();
    }
    this.readRows(batch.map((c) => c.entry.hash)).then(
      (rows) => {
        const byHash = new Map(rows.map((row) => [row.hash, row]));
        for (const { id, entry, ticket } of batch) {
          entry.refreshing = false;
          const row = byHash.get(entry.hash);
          this.cache.completeFill(ticket, id, row ? cached(row, row.hash) : undefined);
        }
      },
      (err: Error) => {
        for (const { id, entry, ticket } of batch) {
          this.cache.abortFill(ticket);
          this.cache.refreshFailed(id, entry);
        }
        if (!isDatabaseUnavailable(err)) this.logger.warn(`key record refresh failed: ${err.message}`);
      },
    );
  }

  private async read(plaintext: string): Promise<CachedKey | undefined> {
    const currentHash = this.hasher.hash(plaintext);
    const hashes = this.hasher.secrets.length === 1 ? [currentHash] : this.hasher.candidates(plaintext).map((c) => c.hash);
    let [row] = await this.readRows(hashes);
    // Not under Tollgate's hash: an imported key may still be under its old system's, until this first use.
    if (!row && (await this.legacy.adopt(plaintext, currentHash))) [row] = await this.readRows([currentHash]);
    if (!row) return undefined;
    if (row.hash !== currentHash) await this.rehash(row.id, currentHash);
    return cached(row, currentHash);
  }

  /** The keys stored under these hashes, each with its consumer and the consumer's plan, in one read. */
  private async readRows(hashes: string[]): Promise<KeyRow[]> {
    const rows = (await this.dataSource
      .getRepository(ApiKey)
      .createQueryBuilder('k')
      .addSelect(['k.hash', 'k.hashVersion'])
      .leftJoinAndMapOne('k.consumer', Consumer, 'c', 'c.id = k.consumerId')
      .leftJoinAndMapOne('k.plan', Plan, 'p', 'p.id = c.planId')
      .where({ hash: hashes.length === 1 ? hashes[0] : In(hashes) })
      .getMany()) as KeyRow[];
    for (const row of rows) {
      row.consumer ??= null;
      row.plan ??= null;
    }
    return rows;
  }

  /** Found under an older secret: move it to the current one so the old secret can be retired. */
  private async rehash(id: string, hash: string): Promise<void> {
    await this.tx.run((m) => m.getRepository(ApiKey).update({ id }, { hash, hashVersion: this.hasher.current.version }));
  }
}
