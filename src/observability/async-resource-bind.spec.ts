import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { installLeanAsyncResourceBind } from './async-resource-bind';

describe('installLeanAsyncResourceBind', () => {
  const original = AsyncResource.prototype.bind;
  afterAll(() => {
    AsyncResource.prototype.bind = original;
  });

  it('replaces bind once, and not on Node 24 or later', () => {
    expect(installLeanAsyncResourceBind(24)).toBe(false);
    expect(AsyncResource.prototype.bind).toBe(original);
    expect(installLeanAsyncResourceBind(20)).toBe(true);
    expect(AsyncResource.prototype.bind).not.toBe(original);
    expect(installLeanAsyncResourceBind(20)).toBe(false);
  });

  it('runs the function in the async context the resource was made in, as Node does', async () => {
    installLeanAsyncResourceBind(20);
    const als = new AsyncLocalStorage<string>();
    const bound = als.run('request-1', () => new AsyncResource('test').bind((x: number) => `${als.getStore()}:${x}`));
    const staticBound = als.run('request-2', () => AsyncResource.bind(() => als.getStore()));
    // Called from another context, as a body parser's callback is.
    const seen = await als.run('other', () => new Promise<string[]>((resolve) => setImmediate(() => resolve([bound(7), staticBound() as string]))));
    expect(seen).toEqual(['request-1:7', 'request-2']);
  });

  it("passes the caller's this, or thisArg when given, and the arguments; returns and throws what fn does", () => {
    installLeanAsyncResourceBind(20);
    const resource = new AsyncResource('test');
    function whoAmI(this: { name: string } | undefined, suffix: string) {
      return `${this?.name}${suffix}`;
    }
    const unbound = resource.bind(whoAmI);
    expect(unbound.call({ name: 'caller' }, '!')).toBe('caller!');
    const bindTo = resource.bind.bind(resource) as (fn: typeof whoAmI, thisArg: unknown) => typeof whoAmI;
    expect(bindTo(whoAmI, { name: 'given' }).call({ name: 'caller' }, '?')).toBe('given?');
    const boom = resource.bind(() => {
      throw new Error('boom');
    });
    expect(() => boom()).toThrow('boom');
    expect(() => resource.bind('not a function' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
