import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Admission } from '../admission/admission.service';
import { RouteAccessReader } from './route-access';

/** Second global guard: may this key do this. A route that declares no scopes is denied. */
@Injectable()
export class ScopesGuard implements CanActivate {
  constructor(
    private readonly routes: RouteAccessReader,
    private readonly admission: Admission,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const { isPublic, scopes, kinds } = this.routes.of(context);
    if (isPublic) return true;
    const refusal = this.admission.permission(context.getArgByIndex<FastifyRequest>(0).auth?.key, kinds, scopes);
    if (refusal) throw refusal;
    return true;
  }
}
