import { Controller, Get, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ConsumerOnly, Public, RequireScopes } from './decorators';
import { RouteAccessReader } from './route-access';

@Controller()
@ConsumerOnly()
class Base {
  @Get('open')
  @Public()
  open(): void {}

  @Get('read')
  @RequireScopes('usage:read')
  read(): void {}

  @Get('undeclared')
  undeclared(): void {}
}

@Controller()
@Public()
class PublicChild extends Base {}

const context = (cls: object, handler: object) =>
  ({ getClass: () => cls, getHandler: () => handler }) as unknown as ExecutionContext;

describe('RouteAccessReader', () => {
  const reader = new RouteAccessReader(new Reflector());

  it('reads the handler over the controller', () => {
    expect(reader.of(context(Base, Base.prototype.open))).toEqual({ isPublic: true, scopes: undefined, kinds: ['secret', 'publishable'] });
    expect(reader.of(context(Base, Base.prototype.read))).toEqual({ isPublic: false, scopes: ['usage:read'], kinds: ['secret', 'publishable'] });
  });

  it('reports a route without a scope declaration as such (the guards deny it)', () => {
    expect(reader.of(context(Base, Base.prototype.undeclared)).scopes).toBeUndefined();
  });

  it('answers the same object on later calls', () => {
    expect(reader.of(context(Base, Base.prototype.read))).toBe(reader.of(context(Base, Base.prototype.read)));
  });

  it('keeps an inherited handler apart per controller', () => {
    expect(reader.of(context(Base, Base.prototype.undeclared)).isPublic).toBe(false);
    expect(reader.of(context(PublicChild, Base.prototype.undeclared)).isPublic).toBe(true);
  });
});
