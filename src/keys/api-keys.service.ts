import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, IsNull, LessThan } from 'typeorm';
import type { AuthKey } from '../auth/auth-key';
import { CacheInvalidationService } from '../auth/cache-invalidation.service';
import { ipRuleProblem } from '../auth/ip-matcher';
import { cacheKeyOf, KeyCache } from '../auth/key-cache';
import { generateKey, KeyEnvironment } from '../auth/key-format';
import { KeyHasher } from '../auth/key-hasher';
import { OriginRegistry } from '../auth/origin-registry.service';
import { isSubset, KeyKind, scopeProblems } from '../auth/scopes';
import { Actor } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { AppException, FieldError } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { newId } from '../common/ids';
import { decodeCursor, Page, PageQueryDto, toPage } from '../common/pagination';
import { keysConfig } from '../config/settings';
import { Consumer } from '../consumers/consumer.entity';
import { Transactions } from '../database/transactions';
import { dialectOf } from '../database/dialect';
import { ApiKey } from './api-key.entity';
import { Reach, reachProblem } from './key-bounds';
import { keepOneRootKey } from './root-key';
import { ApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';
import { CreateKeyDto } from './dto/create-key.dto';
import { UpdateKeyDto } from './dto/update-key.dto';

export function toKeyDto(k: ApiKey): ApiKeyDto {
  return {
    id: k.id,
    kind: k.kind,
    consumerId: k.consumerId,
    name: k.name,
    environment: k.environment,
    start: k.start,
    scopes: k.scopes,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    revokedAt: k.revokedAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    allowedIps: k.allowedIps,
    allowedOrigins: k.allowedOrigins,
    rateLimits: k.rateLimits,
    metadata: k.metadata,
    rotatedFromId: k.rotatedFromId,
    externalId: k.externalId ?? null,
    createdAt: k.createdAt.toISOString(),
  };
}

/**
 * Which keys a call may see or change: all (admin routes), admin keys, or one consumer's own (/me/keys) —
 * with `environment`, only those of the caller's environment (what a consumer key reads).
 */
export type KeyScope = { consumerId: string; environment?: KeyEnvironment } | { kind: 'admin' } | 'any';

export interface KeyListQuery extends PageQueryDto {
  environment?: KeyEnvironment;
  status?: 'active' | 'revoked' | 'expired';
}

const MAX_GRACE_SECONDS = 7 * 86400;

@Injectable()
export class ApiKeysService {
  private readonly prefix: string;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly hasher: KeyHasher,
    private readonly cache: KeyCache,
    private readonly audit: AuditService,
    private readonly invalidate: CacheInvalidationService,
    private readonly origins: OriginRegistry,
    @Inject(keysConfig.KEY) keys: ConfigType<typeof keysConfig>,
  ) {
    this.prefix = keys.prefix;
  }

  /**
   * Creates a key. `consumerId` null creates an admin key. A key never grants more than its creator
   * holds: admin keys get a subset of the caller's scopes; a consumer key creates keys for its own
   * consumer with a subset of its scopes and its environment. Whoever creates it, the key neither outlives
   * its creator nor answers from addresses its creator does not: left out, the creator's expiry and ranges
   * are taken.
   */
  async create(caller: AuthKey, actor: Actor, consumerId: string | null, dto: CreateKeyDto): Promise<CreatedApiKeyDto> {
    const reach = await this.reachOf(this.dataSource.manager, caller);
    const { kind, environment, expiresAt, allowedIps } = this.boundsOfNewKey(caller, consumerId, dto, reach);
    const { key: plaintext, start } = generateKey(this.prefix, environment);
    const hash = this.hasher.hash(plaintext);
    const created = await this.tx.run(async (m) => {
      if (consumerId !== null && !(await m.existsBy(Consumer, { id: consumerId }))) throw AppException.notFound('Consumer');
      const now = new Date();
      const row = m.create(ApiKey, {
        id: newId('key', now.getTime()),
        consumerId,
        kind,
        name: dto.name,
        environment,
        start,
        hash,
        hashVersion: this.hasher.current.version,
        scopes: dto.scopes,
        expiresAt,
        revokedAt: null,
        lastUsedAt: null,
        allowedIps,
        allowedOrigins: dto.allowedOrigins ?? [],
        rateLimits: dto.rateLimits?.map((r) => ({ name: r.name, limit: r.limit, windowSeconds: r.windowSeconds })) ?? [],
        metadata: dto.metadata ?? {},
        rotatedFromId: null,
        createdByKeyId: actor.keyId,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(ApiKey, row);
      const out = toKeyDto(row);
      await this.audit.record(m, actor, { action: 'key.create', targetType: 'key', targetId: row.id, after: { ...out } });
      return out;
    });
    this.cache.forgetMissing(cacheKeyOf(plaintext));
    if (kind === 'publishable') await this.origins.reload();
    return { ...created, key: plaintext };
  }

  /**
   * What a new key may be, whichever way it arrives (create, import): its kind, environment and expiry,
   * within the caller's bounds. Throws VALIDATION_FAILED or INSUFFICIENT_PERMISSIONS.
   */
  boundsOfNewKey(
    caller: AuthKey,
    consumerId: string | null,
    dto: CreateKeyDto,
    reach: Reach,
  ): { kind: KeyKind; environment: KeyEnvironment; expiresAt: Date | null; allowedIps: string[] } {
    const kind: KeyKind = dto.kind ?? (consumerId ? 'secret' : 'admin');
    if (consumerId === null && kind !== 'admin') {
      throw AppException.validation([{ field: 'kind', message: 'keys created here are admin keys; create consumer keys under /v1/admin/consumers/{id}/keys' }]);
    }
    if (consumerId !== null && kind === 'admin') {
      throw AppException.validation([{ field: 'kind', message: 'a consumer key is secret or publishable' }]);
    }
    const environment = dto.environment ?? (caller.kind === 'admin' ? 'live' : caller.environment);
    let expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    this.validateFields(kind, { ...dto, expiresAt: dto.expiresAt });
    if (kind === 'admin' || caller.kind !== 'admin') this.refuseEscalation(caller, dto.scopes);
    if (caller.kind !== 'admin' && environment !== caller.environment) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `A ${caller.environment} key can only create ${caller.environment} keys`);
    }
    if (!expiresAt && reach.expiresAt !== null) expiresAt = new Date(reach.expiresAt);
    const allowedIps = dto.allowedIps ?? [...reach.allowedIps];
    this.refuseWiderReach(reach, { expiresAt: expiresAt?.getTime() ?? null, allowedIps });
    return { kind, environment, expiresAt, allowedIps };
  }

  /** How far the calling key reaches (its expiry and address ranges), which keys it makes must stay within. */
  reachOfCaller(caller: AuthKey): Promise<Reach> {
    return this.reachOf(this.dataSource.manager, caller);
  }

  async list(scope: KeyScope, query: KeyListQuery & { consumerId?: string; kind?: KeyKind }): Promise<Page<ApiKeyDto>> {
    const limit = query.limit ?? 20;
    const where: FindOptionsWhere<ApiKey> = { ...this.scopeWhere(scope) };
    if (query.consumerId && scope === 'any') where.consumerId = query.consumerId;
    if (query.kind && scope === 'any') where.kind = query.kind;
    if (query.environment) {
      // A caller bound to one environment asking for the other finds nothing there.
      if (where.environment !== undefined && where.environment !== query.environment) return { data: [], nextCursor: null };
      where.environment = query.environment;
    }
    const cursor = decodeCursor(query.cursor);
    if (cursor) where.id = LessThan(cursor);
    const repo = this.dataSource.getRepository(ApiKey);
    let qb = repo.createQueryBuilder('k').where(where).orderBy('k.id', 'DESC').take(limit + 1);
    const now = new Date();
    if (query.status === 'revoked') {
      qb = qb.andWhere('k.revoked_at IS NOT NULL');
    } else if (query.status === 'active') {
      qb = qb.andWhere('k.revoked_at IS NULL').andWhere('(k.expires_at IS NULL OR k.expires_at > :now)', { now });
    } else if (query.status === 'expired') {
      qb = qb.andWhere('k.revoked_at IS NULL').andWhere('k.expires_at <= :now', { now });
    }
    return toPage(await qb.getMany(), limit, toKeyDto);
  }

  async get(scope: KeyScope, id: string): Promise<ApiKeyDto> {
    return toKeyDto(await this.find(this.dataSource.manager, scope, id));
  }

  async update(caller: AuthKey, actor: Actor, scope: KeyScope, id: string, dto: UpdateKeyDto): Promise<ApiKeyDto> {
    const out = await this.tx.run(async (m) => {
      const key = await this.find(m, scope, id, true);
      this.refuseOutOfBounds(caller, key);
      const reach = await this.reachOf(m, caller);
      this.validateFields(key.kind, {
        ...dto,
        allowedOrigins: dto.allowedOrigins ?? (key.kind === 'publishable' ? key.allowedOrigins : dto.allowedOrigins),
      });
      if (dto.scopes) {
        if (key.kind === 'admin' || caller.kind !== 'admin') this.refuseEscalation(caller, dto.scopes);
        if (key.kind === 'admin' && key.scopes.includes('*') && !dto.scopes.includes('*')) await keepOneRootKey(m, key.id);
      }
      // An expiry is a revocation that waits: the last root key may not be given one either.
      if (dto.expiresAt && key.kind === 'admin' && key.scopes.includes('*')) await keepOneRootKey(m, key.id);
      const before = toKeyDto(key);
      if (dto.name !== undefined) key.name = dto.name;
      if (dto.scopes !== undefined) key.scopes = dto.scopes;
      if (dto.expiresAt !== undefined) key.expiresAt = dto.expiresAt === null ? null : new Date(dto.expiresAt);
      if (dto.allowedIps !== undefined) key.allowedIps = dto.allowedIps;
      if (dto.allowedOrigins !== undefined) key.allowedOrigins = dto.allowedOrigins;
      if (dto.rateLimits !== undefined) key.rateLimits = dto.rateLimits.map((r) => ({ name: r.name, limit: r.limit, windowSeconds: r.windowSeconds }));
      if (dto.metadata !== undefined) key.metadata = dto.metadata;
      // A change is judged by what it changes: renaming a key that already reaches further than the caller
      // hands the caller nothing, but moving its expiry or allowlist past the caller's own would (itself included).
      this.refuseWiderReach(reach, { expiresAt: key.expiresAt?.getTime() ?? null, allowedIps: key.allowedIps }, {
        expiry: dto.expiresAt !== undefined,
        ips: dto.allowedIps !== undefined,
      });
      key.updatedAt = new Date();
      await m.save(ApiKey, key);
      const after = toKeyDto(key);
      await this.audit.record(m, actor, { action: 'key.update', targetType: 'key', targetId: id, before: { ...before }, after: { ...after } });
      return after;
    });
    this.invalidate.key(id);
    if (out.kind === 'publishable') await this.origins.reload();
    return out;
  }

  /** `caller` null: the operator's command line, which holds every scope. */
  async revoke(caller: AuthKey | null, actor: Actor, scope: KeyScope, id: string): Promise<ApiKeyDto> {
    const out = await this.tx.run(async (m) => {
      const key = await this.find(m, scope, id, true);
      if (caller) this.refuseOutOfBounds(caller, key);
      if (key.revokedAt) return toKeyDto(key);
      if (key.kind === 'admin' && key.scopes.includes('*')) await keepOneRootKey(m, key.id);
      key.revokedAt = new Date();
      key.updatedAt = key.revokedAt;
      await m.save(ApiKey, key);
      const after = toKeyDto(key);
      await this.audit.record(m, actor, { action: 'key.revoke', targetType: 'key', targetId: id, before: { revokedAt: null }, after: { revokedAt: after.revokedAt } });
      return after;
    });
    this.invalidate.key(id);
    if (out.kind === 'publishable') await this.origins.reload();
    return out;
  }

  /**
   * Issues a new key with the same consumer, kind, environment, scopes, limits, metadata and expiry; the
   * old key keeps working for the grace period, then answers KEY_EXPIRED. A key already in a rotation's
   * grace period is not rotated again: its expiry is now the grace deadline, which a second successor
   * would inherit, so the caller rotates the successor instead.
   */
  async rotate(caller: AuthKey, actor: Actor, scope: KeyScope, id: string, graceSeconds = 0): Promise<CreatedApiKeyDto> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
      throw AppException.validation([{ field: 'gracePeriodSeconds', message: `must be an integer from 0 to ${MAX_GRACE_SECONDS}` }]);
    }
    let plaintext = '';
    let hash = '';
    const out = await this.tx.run(async (m) => {
      const old = await this.find(m, scope, id, true);
      const now = new Date();
      if (old.revokedAt) throw AppException.conflict('A revoked key cannot be rotated');
      if (old.expiresAt && old.expiresAt <= now) throw AppException.conflict('An expired key cannot be rotated');
      this.refuseOutOfBounds(caller, old);
      // The new key has the old key's scopes and expiry: the caller must be able to create it.
      if (old.kind === 'admin' || caller.kind !== 'admin') this.refuseEscalation(caller, old.scopes);
      this.refuseWiderReach(await this.reachOf(m, caller), { expiresAt: old.expiresAt?.getTime() ?? null, allowedIps: old.allowedIps });
      const successor = await m.getRepository(ApiKey).findOne({ select: { id: true }, where: { rotatedFromId: old.id } });
      if (successor) {
        throw AppException.conflict(`This key was already rotated and is in its grace period; rotate its successor ${successor.id} instead`);
      }
      const generated = generateKey(this.prefix, old.environment);
      plaintext = generated.key;
      hash = this.hasher.hash(plaintext);
      const fresh = m.create(ApiKey, {
        ...old,
        id: newId('key', now.getTime()),
        start: generated.start,
        hash,
        hashVersion: this.hasher.current.version,
        revokedAt: null,
        lastUsedAt: null,
        rotatedFromId: old.id,
        // The external id names the imported key, which the old one stays; unique per consumer.
        externalId: null,
        createdByKeyId: actor.keyId,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(ApiKey, fresh);
      const graceEnd = new Date(now.getTime() + graceSeconds * 1000);
      const before = toKeyDto(old);
      old.expiresAt = old.expiresAt && old.expiresAt < graceEnd ? old.expiresAt : graceEnd;
      old.updatedAt = now;
      await m.save(ApiKey, old);
      const created = toKeyDto(fresh);
      await this.audit.record(m, actor, {
        action: 'key.rotate',
        targetType: 'key',
        targetId: old.id,
        before: { expiresAt: before.expiresAt },
        after: { expiresAt: old.expiresAt.toISOString(), newKeyId: fresh.id, gracePeriodSeconds: graceSeconds },
      });
      return created;
    });
    this.invalidate.key(id);
    this.cache.forgetMissing(cacheKeyOf(plaintext));
    return { ...out, key: plaintext };
  }

  async find(m: EntityManager, scope: KeyScope, id: string, forUpdate = false): Promise<ApiKey> {
    const qb = m.getRepository(ApiKey).createQueryBuilder('k').where({ id, ...this.scopeWhere(scope) });
    if (forUpdate) dialectOf(m).lockForUpdate(qb);
    const key = await qb.getOne();
    if (!key) throw AppException.notFound('API key');
    return key;
  }

  private scopeWhere(scope: KeyScope): FindOptionsWhere<ApiKey> {
    if (scope === 'any') return {};
    if ('consumerId' in scope) return scope.environment ? { consumerId: scope.consumerId, environment: scope.environment } : { consumerId: scope.consumerId };
    return { kind: 'admin', consumerId: IsNull() };
  }

  private refuseEscalation(caller: AuthKey, scopes: string[]): void {
    if (!isSubset(scopes, caller.scopes)) {
      const extra = scopes.filter((s) => !isSubset([s], caller.scopes));
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `A key cannot grant scopes it does not hold: ${extra.join(', ')}`);
    }
  }

  /**
   * The bounds of create hold on every route that changes a key. A key is managed only by a key that
   * holds every scope it holds, or a `keys:write` key could revoke, re-restrict or expire the keys above
   * it: admin keys by admin keys (operators manage every consumer key); consumer keys by keys of their
   * own consumer (the route's scope already hides the others) in the same environment.
   */
  private refuseOutOfBounds(caller: AuthKey, target: ApiKey): void {
    if (caller.kind === 'admin') {
      if (target.kind === 'admin' && !isSubset(target.scopes, caller.scopes)) {
        throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'A key cannot change an admin key that holds scopes it does not hold');
      }
      return;
    }
    if (target.consumerId !== caller.consumer?.id) throw AppException.notFound('API key');
    if (target.environment !== caller.environment) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `A ${caller.environment} key can only manage ${caller.environment} keys`);
    }
    if (!isSubset(target.scopes, caller.scopes)) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'A key cannot change a key that holds scopes it does not hold');
    }
  }

  /**
   * The caller's own expiry and allowlist. The allowlist is read from its row (the key cache keeps only the
   * compiled matcher), and only for a caller that has one; a caller whose row is gone reaches nothing.
   */
  private async reachOf(m: EntityManager, caller: AuthKey): Promise<Reach> {
    if (!caller.ipMatcher) return { expiresAt: caller.expiresAt, allowedIps: [] };
    const row = await m.getRepository(ApiKey).findOne({ select: { id: true, allowedIps: true }, where: { id: caller.id } });
    if (!row) throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'The calling key no longer exists');
    return { expiresAt: caller.expiresAt, allowedIps: row.allowedIps };
  }

  /**
   * Admin and consumer keys alike never create, rotate or change a key so that it outlives the caller or
   * answers from addresses the caller does not; the caller's own key included, so it never loosens itself.
   */
  private refuseWiderReach(caller: Reach, key: Reach, dimensions?: { expiry: boolean; ips: boolean }): void {
    const problem = reachProblem(key, caller, dimensions);
    if (problem) throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, problem);
  }

  private validateFields(
    kind: KeyKind,
    dto: { scopes?: string[]; expiresAt?: string | null; allowedIps?: string[]; allowedOrigins?: string[]; rateLimits?: { name: string }[] },
  ): void {
    const problems: FieldError[] = [];
    if (dto.scopes) {
      for (const p of scopeProblems(kind, dto.scopes)) {
        const [field, ...rest] = p.split(': ');
        problems.push({ field, message: rest.join(': ') });
      }
    }
    if (dto.expiresAt) {
      const at = new Date(dto.expiresAt);
      if (Number.isNaN(at.getTime())) problems.push({ field: 'expiresAt', message: 'is not a valid date' });
      else if (at.getTime() <= Date.now()) problems.push({ field: 'expiresAt', message: 'must be in the future' });
    }
    dto.allowedIps?.forEach((rule, i) => {
      const p = ipRuleProblem(rule);
      if (p) problems.push({ field: `allowedIps[${i}]`, message: p });
    });
    if (kind === 'publishable' && !dto.allowedOrigins?.length) {
      problems.push({ field: 'allowedOrigins', message: 'a publishable key must name at least one allowed origin' });
    }
    if (kind !== 'publishable' && dto.allowedOrigins?.length) {
      problems.push({ field: 'allowedOrigins', message: 'only publishable keys have allowed origins' });
    }
    if (dto.rateLimits) {
      const names = dto.rateLimits.map((r) => r.name);
      if (new Set(names).size !== names.length) problems.push({ field: 'rateLimits', message: 'limit names must be unique' });
    }
    if (problems.length) throw AppException.validation(problems);
  }
}
