import {
  type CallHandler,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  Module,
  type NestInterceptor,
  type OnApplicationShutdown,
  SetMetadata,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { map, type Observable } from 'rxjs';
import { contextOf, type TollgateContext } from './context';
import { createUsageReporter, type UsageReporter, type UsageReporterOptions } from './usage-reporter';
import { createVerifier, type Verifier, type VerifierOptions } from './verifier';

export const TOLLGATE_VERIFIER = Symbol('TOLLGATE_VERIFIER');
export const TOLLGATE_REPORTER = Symbol('TOLLGATE_REPORTER');
const SCOPES = 'tollgate-sdk:scopes';
const PUBLIC = 'tollgate-sdk:public';
const METER = 'tollgate-sdk:meter';

/** The scopes a route needs (all of them; none is a valid declaration: any valid key). */
export const RequireScopes = (...scopes: string[]) => SetMetadata(SCOPES, scopes);
/** A route the guard lets through without a key. Every other route needs one. */
export const Public = () => SetMetadata(PUBLIC, true);

export type MeterCost<T = any> = number | ((result: T, request: unknown) => number);

/**
 * Meters `cost` of `metric` for the key's consumer after the handler answered without an error; the cost
 * may be a function of what the handler returned (tokens, bytes). Reported in batches by the module's reporter.
 */
export function Meter<T = any>(metric: string, cost: MeterCost<T> = 1) {
  return applyDecorators(SetMetadata(METER, { metric, cost }), UseInterceptors(TollgateMeterInterceptor));
}

type NestRequest = { headers: Record<string, string | string[] | undefined>; ip?: string; tollgate?: TollgateContext | null };
type NestResponse = { setHeader?(name: string, value: string): unknown; header?(name: string, value: string): unknown };

/**
 * The global guard `TollgateModule.forRoot()` installs: every route needs a verified key with the scopes of
 * its `@RequireScopes()` unless it is `@Public()`. A refusal is thrown as an HttpException whose body is
 * Tollgate's error body, after the rate-limit and Retry-After headers are set — on Express or Fastify.
 */
@Injectable()
export class TollgateGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOLLGATE_VERIFIER) private readonly verifier: Verifier,
    @Inject(TOLLGATE_REPORTER) private readonly reporter: UsageReporter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const scopes = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES, targets) ?? [];
    const http = context.switchToHttp();
    const request = http.getRequest<NestRequest>();
    const response = http.getResponse<NestResponse>();
    const verification = await this.verifier.verify({
      scopes,
      key: this.verifier.keyFrom(request.headers),
      ip: request.ip,
      origin: request.headers.origin as string | undefined,
      requestId: request.headers['x-request-id'] as string | undefined,
    });
    for (const [name, value] of Object.entries(verification.answer.headers)) {
      if (response.setHeader) response.setHeader(name, value);
      else response.header?.(name, value);
    }
    if (!verification.allowed) throw new HttpException(verification.answer.body!, verification.answer.status);
    request.tollgate = contextOf(verification, this.reporter);
    return true;
  }
}

@Injectable()
export class TollgateMeterInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const meter = this.reflector.get<{ metric: string; cost: MeterCost } | undefined>(METER, context.getHandler());
    const request = context.switchToHttp().getRequest<NestRequest>();
    return next.handle().pipe(
      map((result: unknown) => {
        if (meter && request.tollgate) {
          const units = typeof meter.cost === 'number' ? meter.cost : Math.ceil(meter.cost(result, request));
          if (Number.isSafeInteger(units) && units > 0) request.tollgate.report(meter.metric, units);
        }
        return result;
      }),
    );
  }
}

export interface TollgateModuleOptions extends VerifierOptions {
  /** Options of the usage reporter behind @Meter() and `req.tollgate.report()` (baseUrl is shared). */
  usage?: Omit<UsageReporterOptions, 'baseUrl'>;
}

@Injectable()
class TollgateLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(TOLLGATE_VERIFIER) private readonly verifier: Verifier,
    @Inject(TOLLGATE_REPORTER) private readonly reporter: UsageReporter,
  ) {}

  /** Reported usage still queued is sent before the process ends. */
  async onApplicationShutdown(): Promise<void> {
    await this.reporter.close();
    await this.verifier.close();
  }
}

/** `TollgateModule.forRoot({ baseUrl, gatewayKey })` in the root module protects every route (call `app.enableShutdownHooks()`). */
@Module({})
export class TollgateModule {
  static forRoot(options: TollgateModuleOptions): DynamicModule {
    return {
      module: TollgateModule,
      global: true,
      providers: [
        { provide: TOLLGATE_VERIFIER, useFactory: () => createVerifier(options) },
        { provide: TOLLGATE_REPORTER, useFactory: () => createUsageReporter({ ...options.usage, baseUrl: options.baseUrl }) },
        { provide: APP_GUARD, useClass: TollgateGuard },
        TollgateMeterInterceptor,
        TollgateLifecycle,
      ],
      exports: [TOLLGATE_VERIFIER, TOLLGATE_REPORTER, TollgateMeterInterceptor],
    };
  }
}
