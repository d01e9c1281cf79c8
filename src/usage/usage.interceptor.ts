import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Observable } from 'rxjs';
import { REQUESTS_METRIC, UsageRecorder } from './usage-recorder.service';

/**
 * Counts 1 `requests` for every authenticated request that reaches its handler. Interceptors run after
 * the guards, so requests refused by authentication, scopes or limits are not counted; and before the
 * pipes and the handler, so a request that then fails validation or errors still is, whatever its status.
 * @Public routes carry no key and are not counted. Admin keys only get their lastUsedAt updated, so an
 * upstream's verify calls are not metered for the admin key (the verified key is, by VerifyService).
 */
@Injectable()
export class UsageInterceptor implements NestInterceptor {
  constructor(private readonly recorder: UsageRecorder) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const auth = context.switchToHttp().getRequest<FastifyRequest>().auth;
      if (auth) this.recorder.record(auth.key, REQUESTS_METRIC, 1);
    }
    return next.handle();
  }
}
