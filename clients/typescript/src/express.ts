import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { contextOf, type TollgateContext } from './context';
import type { UsageReporter } from './usage-reporter';
import type { Requirement, Verifier } from './verifier';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      tollgate?: TollgateContext;
    }
  }
}

export interface ExpressGuardOptions {
  verifier: Verifier;
  /** Lets handlers meter with `req.tollgate.report()`. */
  reporter?: UsageReporter;
}

/**
 * Express middleware factory: `const protect = tollgateExpress({ verifier })`, then
 * `app.get('/orders', protect({ scopes: ['orders:read'] }), handler)`. A refused request gets the status, error
 * body and headers a direct call to Tollgate would; an admitted one carries `req.tollgate` (key, consumer).
 */
export function tollgateExpress({ verifier, reporter }: ExpressGuardOptions): (requirement?: Requirement) => RequestHandler {
  return (requirement = {}) =>
    (req: Request, res: Response, next: NextFunction) => {
      verifier
        .verify({
          ...requirement,
          key: verifier.keyFrom(req.headers),
          ip: req.ip,
          origin: req.headers.origin,
          requestId: req.headers['x-request-id'] as string | undefined,
        })
        .then((verification) => {
          const { answer } = verification;
          for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
          if (!verification.allowed) {
            res.status(answer.status).json(answer.body);
            return;
          }
          req.tollgate = contextOf(verification, reporter);
          next();
        })
        .catch(next);
    };
}
