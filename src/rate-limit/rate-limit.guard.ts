import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type RateLimitDecision, RateLimitService } from './rate-limit.service';

/**
 * Third global guard: the throttler, tracked by key, never by IP.
 *
 * The stock guard resolves its named throttlers from module options and calls the storage once per
 * name, with a counter per route. Here the limits come from the authenticated key (its plan, its own
 * limits, or the default), all named limits of a request are applied in one store call, and a counter
 * is shared by every route. So canActivate is replaced; the module options still carry the default
 * limit and an O(1) storage for anything that uses the stock path.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limits: RateLimitService,
  ) {
    super(options, storage, reflector);
  }

  /**
   * Returns a plain boolean when it can decide without waiting (public routes, the in-process store),
   * so that Nest moves on to the next guard without an await. ThrottlerGuard types canActivate as a
   * promise; Nest accepts either.
   */
  override canActivate(context: ExecutionContext): Promise<boolean> {
    return this.decide(context) as Promise<boolean>;
  }

  private decide(context: ExecutionContext): boolean | Promise<boolean> {
    // getArgByIndex, not switchToHttp(): the latter allocates an adapter object per call.
    const auth = context.getArgByIndex<FastifyRequest>(0).auth;
    // ApiKeyGuard runs first and denies every non-public route without a key: no auth means @Public().
    if (auth === undefined) return true;
    const decision = this.limits.apply(auth.key, 1);
    if (decision instanceof Promise) return decision.then((d) => this.conclude(context, d));
    return this.conclude(context, decision);
  }

  private conclude(context: ExecutionContext, decision: RateLimitDecision): boolean {
    this.limits.setHeaders(context.getArgByIndex<FastifyReply>(1), decision);
    if (!decision.allowed) throw this.limits.exceeded(decision);
    return true;
  }
}
