import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { RouteAccessReader } from './route-access';
import { grants } from './scopes';

/** Second global guard: may this key do this. A route that declares no scopes is denied. */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(private readonly routes: RouteAccessReader) {}

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, scopes, kinds } = this.routes.of(context);
    if (isPublic) return true;
    const auth = context.getArgByIndex<FastifyRequest>(0).auth;
    if (!auth || !scopes || !kinds) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, 'This route is not available to API keys');
    }
    if (!kinds.includes(auth.key.kind)) {
      throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `This route does not accept ${auth.key.kind} keys`);
    }
    for (let i = 0; i < scopes.length; i++) {
      if (!grants(auth.key.scopes, scopes[i])) {
        const missing = scopes.filter((s) => !grants(auth.key.scopes, s));
        throw new AppException(ErrorCode.INSUFFICIENT_PERMISSIONS, `Missing scope: ${missing.join(', ')}`);
      }
    }
    return true;
  }
}
