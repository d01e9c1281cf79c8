import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Admission } from '../admission/admission.service';
import { RouteAccessReader } from './route-access';

export { extractKey } from '../admission/admission.service';

/**
 * First global guard: who is calling. Deny by default; `@Public()` opts out. The key is normally
 * authenticated before the body is read, by the onRequest hook of every route that needs one
 * (admission/authentication.hook.ts); this guard authenticates what that hook did not (a route added
 * without it), through the same admission step.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly routes: RouteAccessReader,
    private readonly admission: Admission,
  ) {}

  /** Synchronous when the hook authenticated the request or the key is cached: the hot path awaits nothing. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.routes.of(context).isPublic) return true;
    // getArgByIndex, not switchToHttp(): the latter allocates an adapter object per call.
    const request = context.getArgByIndex<FastifyRequest>(0);
    if (request.auth !== undefined) return true;
    return this.admission.authenticateRequest(request);
  }
}
