import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthKey } from '../auth/auth-key';
import type { LimitPolicy, RouteLimits } from './limit-policy';
import { type RateLimitDetail, RateLimitService } from './rate-limit.service';
import { type CounterRecord, type CounterStore, MemoryCounterStore } from './storage';

// The throttler's metadata keys (its decorators write them; the package does not export the constants).
const SKIP = 'THROTTLER:SKIP';
const LIMIT = 'THROTTLER:LIMIT';
const TTL = 'THROTTLER:TTL';

/** One handleRequest call; the storage record is kept for the headers and the verdict over all limits. */
interface LimitRequest extends ThrottlerRequest {
  record?: CounterRecord;
}

/**
 * Third global guard: @nestjs/throttler's guard, tracked by key, never by IP.
 *
 * The stock canActivate walks the throttlers configured in ThrottlerModule; here the named limits come
 * from the authenticated key (its plan, its own limits, or ThrottlerModule's `default` throttler), so
 * canActivate resolves them (once per key record and route) and calls the throttler's handleRequest once
 * per limit, each with its own tracker and key generator (consumer- or key-wide counters shared by every
 * route) and the counter store as ThrottlerStorage. The refusal goes through throwThrottlingException,
 * after every limit has counted the hit, so that the headers describe all of them.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  /** @SkipThrottle/@Throttle of each handler, read once; null when the route declares neither. */
  private readonly routes = new WeakMap<object, RouteLimits | null>();
  /** The in-process store answers without a promise. */
  private readonly syncStore: MemoryCounterStore | null;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: CounterStore,
    reflector: Reflector,
    private readonly limits: RateLimitService,
  ) {
    super(options, storage, reflector);
    this.syncStore = storage instanceof MemoryCounterStore ? storage : null;
  }

  /**
   * Answers a plain boolean when it can decide without waiting (public routes, the in-process store),
   * so that Nest moves on to the next guard without an await; ThrottlerGuard types canActivate as a
   * promise, Nest accepts either. With Redis the limits' increments go out together (one round trip).
   */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    // getArgByIndex, not switchToHttp(): the latter allocates an adapter object per call.
    const auth = context.getArgByIndex<FastifyRequest>(0).auth;
    // ApiKeyGuard runs first and denies every non-public route without a key: no auth means @Public().
    if (auth === undefined) return true as unknown as Promise<boolean>;
    const policy = this.limits.policyFor(auth.key, this.routeOf(context));
    const n = policy.limits.length;
    if (n === 0) return true as unknown as Promise<boolean>;
    const requests = new Array<LimitRequest>(n);
    let pending: Array<Promise<boolean>> | null = null;
    for (let i = 0; i < n; i++) {
      const l = policy.limits[i];
      requests[i] = {
        context,
        limit: l.limit,
        ttl: l.ttl,
        throttler: l.throttler,
        blockDuration: l.ttl,
        getTracker: l.getTracker,
        generateKey: l.generateKey,
      };
      const counted = this.handleRequest(requests[i]) as Promise<boolean> | boolean;
      if (typeof counted !== 'boolean') (pending ??= []).push(counted);
    }
    if (pending === null) return this.conclude(context, auth.key, policy, requests);
    return Promise.all(pending).then(() => this.conclude(context, auth.key, policy, requests));
  }

  private conclude(context: ExecutionContext, key: AuthKey, policy: LimitPolicy, requests: LimitRequest[]): Promise<boolean> {
    const records = new Array<CounterRecord>(requests.length);
    for (let i = 0; i < requests.length; i++) records[i] = requests[i].record!;
    const decision = this.limits.decide(key, policy, records, true);
    this.limits.setHeaders(context.getArgByIndex<FastifyReply>(1), decision);
    if (decision.allowed) return true as unknown as Promise<boolean>;
    return this.throwThrottlingException(context, this.limits.detail(decision)).then(() => false);
  }

  /**
   * One named limit: the tracker, the counter key, one storage increment. Headers are set over all limits.
   * The in-process store answers synchronously, and then so does this (a boolean, typed as the promise
   * ThrottlerGuard declares; only canActivate above calls it).
   */
  protected override handleRequest(request: LimitRequest): Promise<boolean> {
    const tracked = request.getTracker(request.context.getArgByIndex(0), request.context);
    if (typeof tracked !== 'string') return tracked.then((tracker) => this.count(request, tracker));
    return this.count(request, tracked) as Promise<boolean>;
  }

  private count(request: LimitRequest, tracker: string): Promise<boolean> | boolean {
    const { context, limit, ttl, throttler, blockDuration, generateKey } = request;
    const key = generateKey(context, tracker, throttler.name!);
    if (this.syncStore !== null) {
      const record = this.syncStore.incrementSync(key, ttl, limit, 1);
      request.record = record;
      return !record.isBlocked;
    }
    return (this.storageService.increment(key, ttl, limit, blockDuration, throttler.name!) as Promise<CounterRecord>).then((record) => {
      request.record = record;
      return !record.isBlocked;
    });
  }

  /** The project's 429 (error shape, Retry-After) instead of the stock ThrottlerException. */
  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw this.limits.exception(detail as RateLimitDetail);
  }

  private routeOf(context: ExecutionContext): RouteLimits | null {
    const handler = context.getHandler();
    let route = this.routes.get(handler);
    if (route === undefined) {
      route = readRouteLimits(context.getClass(), handler);
      this.routes.set(handler, route);
    }
    return route;
  }
}

/** @SkipThrottle() and @Throttle() on a handler or its controller, the handler's winning per name. */
export function readRouteLimits(classRef: object, handler: object): RouteLimits | null {
  const skip = new Set<string>();
  const overrides = new Map<string, { name: string; limit: number; ttl: number }>();
  for (const target of [classRef, handler]) {
    for (const metaKey of Reflect.getMetadataKeys(target) as unknown[]) {
      if (typeof metaKey !== 'string') continue;
      if (metaKey.startsWith(`${SKIP}`)) {
        const name = metaKey.slice(SKIP.length);
        if (Reflect.getMetadata(metaKey, target) === true) skip.add(name);
        else skip.delete(name);
      } else if (metaKey.startsWith(LIMIT)) {
        const name = metaKey.slice(LIMIT.length);
        const limit = Reflect.getMetadata(metaKey, target);
        const ttl = Reflect.getMetadata(TTL + name, target);
        if (typeof limit === 'number' && typeof ttl === 'number') overrides.set(name, { name, limit, ttl });
      }
    }
  }
  if (skip.size === 0 && overrides.size === 0) return null;
  const id = `${(classRef as { name?: string }).name ?? '?'}.${(handler as { name?: string }).name ?? '?'}`;
  return { id, skip, overrides: [...overrides.values()] };
}
