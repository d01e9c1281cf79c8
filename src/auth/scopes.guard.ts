import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { IS_PUBLIC, KEY_KINDS, REQUIRED_SCOPES } from './decorators';
import { grants, KeyKind } from './scopes';

/** Second global guard: may this key do this. A route that declares no scopes is denied. */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const auth = context.switchToHttp().getRequest<FastifyRequest>().auth;
    const required = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_SCOPES, targets);
    const kinds = this.reflector.getAllAndOverride<KeyKind[] | undefined>(KEY_KINDS, targets);
    if (!auth || !required || !kinds) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'This route is not available to API keys');
    }
    if (!kinds.includes(auth.key.kind)) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `This route does not accept ${auth.key.kind} keys`);
    }
    const missing = required.filter((s) => !grants(auth.key.scopes, s));
    if (missing.length) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `Missing scope: ${missing.join(', ')}`);
    }
    return true;
  }
}
