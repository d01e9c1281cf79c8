import { AsyncResource } from 'node:async_hooks';

type Bind = <F extends (...args: never[]) => unknown>(this: AsyncResource, fn: F, thisArg?: unknown) => F;

const LEAN = Symbol.for('tollgate.leanAsyncResourceBind');

/**
 * Before Node 24, `AsyncResource#bind` hangs a deprecated `asyncResource` accessor (DEP0172) on every
 * function it returns, and builds each half of it with `util.deprecate`, which re-parents a fresh function
 * with `Object.setPrototypeOf`: about 18 µs per call on the bench VM, and it throws V8's inline caches off
 * for what runs next (nodejs/node#58218, fixed in 24 by #59195). Fastify binds one callback per request
 * body and Nest one per interceptor call, so every POST paid it.
 *
 * This replaces `bind` with the same call — `fn` runs in the resource's async scope, with `thisArg` or the
 * caller's `this` — without the deprecated property (nothing Tollgate runs reads it) or the bound
 * function's `length`. Idempotent; a no-op on Node 24 and later.
 */
export function installLeanAsyncResourceBind(nodeMajor = Number(process.versions.node.split('.')[0])): boolean {
  const proto = AsyncResource.prototype as unknown as { bind: Bind & { [LEAN]?: true } };
  if (nodeMajor >= 24 || proto.bind[LEAN]) return false;
  const original = proto.bind;
  const lean = function bind(this: AsyncResource, fn: (...args: unknown[]) => unknown, thisArg?: unknown) {
    // Node's own argument check and error (ERR_INVALID_ARG_TYPE).
    if (typeof fn !== 'function') return original.call(this, fn as never, thisArg);
    const resource = this;
    if (thisArg === undefined) {
      return function (this: unknown, ...args: unknown[]) {
        return resource.runInAsyncScope(fn, this, ...args);
      };
    }
    return (...args: unknown[]) => resource.runInAsyncScope(fn, thisArg, ...args);
  } as unknown as Bind & { [LEAN]?: true };
  lean[LEAN] = true;
  proto.bind = lean;
  return true;
}
