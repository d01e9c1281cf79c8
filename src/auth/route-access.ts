import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC, KEY_KINDS, REQUIRED_SCOPES } from './decorators';
import type { KeyKind } from './scopes';

/** What a route declares about who may call it, read from its decorators (handler over controller). */
export interface RouteAccess {
  readonly isPublic: boolean;
  /** undefined: the route declares no scopes, so no key may call it. */
  readonly scopes: readonly string[] | undefined;
  /** undefined: the route declares no key kinds, so no key may call it. */
  readonly kinds: readonly KeyKind[] | undefined;
}

/**
 * Reads a route's access declaration once per handler and keeps it: decorators are fixed when the
 * application starts, and the guards ask on every request.
 */
@Injectable()
export class RouteAccessReader {
  /** Controller → handler → declaration: a handler inherited by two controllers may differ per controller. */
  private readonly byClass = new WeakMap<object, WeakMap<object, RouteAccess>>();

  constructor(private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RouteAccess {
    const handler = context.getHandler();
    const cls = context.getClass();
    let byHandler = this.byClass.get(cls);
    if (byHandler === undefined) this.byClass.set(cls, (byHandler = new WeakMap()));
    let access = byHandler.get(handler);
    if (access === undefined) {
      const targets = [handler, cls];
      access = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
        scopes: this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES, targets),
        kinds: this.reflector.getAllAndOverride<KeyKind[] | undefined>(KEY_KINDS, targets),
      };
      byHandler.set(handler, access);
    }
    return access;
  }
}
