import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Admission } from '../admission/admission.service';
import { REQUESTS_METRIC } from './usage-recorder.service';

/**
 * The last global guard: it admits everything and counts 1 `requests` for every authenticated request
 * that got this far, i.e. that every guard before it admitted and that now reaches its handler — so
 * requests refused by authentication, scopes or limits are not counted, and a request that then fails
 * validation or errors in its handler still is, whatever its status.
 *
 * A guard rather than an interceptor because Nest wraps each interceptor call in AsyncResource.bind and
 * an RxJS pipeline, which cost more per request than the rest of the metering put together.
 * @Public routes carry no key and are not counted. Admin keys only get their lastUsedAt updated, so an
 * upstream's verify calls are not metered for the admin key (the verified key is, by the admission step).
 */
@Injectable()
export class UsageMeteringGuard implements CanActivate {
  constructor(private readonly admission: Admission) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.getArgByIndex<FastifyRequest>(0);
    const auth = request.auth;
    if (auth) {
      this.admission.meter(auth.key, REQUESTS_METRIC, 1);
      // Counted here, so never again as a refusal (a handler may still answer 403).
      request.admitted = true;
    }
    return true;
  }
}
