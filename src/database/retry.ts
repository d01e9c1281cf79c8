import { isDeadlock } from '../common/db-errors';

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** Which errors are worth another try; any other is thrown at once. */
  when: (err: unknown) => boolean;
  /** Wait before try n + 1 (n from 1); none by default. */
  delayMs?: (attempt: number) => number;
}

/** Runs `work` until it succeeds, an error is not worth another try, or the attempts are spent. */
export async function retrying<T>(work: () => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= opts.attempts || !opts.when(err)) throw err;
      const delay = opts.delayMs?.(attempt) ?? 0;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * `work` retried on a deadlock or lock-wait timeout, as InnoDB asks, with a short growing jittered wait
 * so that the transactions that collided do not collide again.
 */
export function retryingDeadlocks<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  return retrying(work, { attempts, when: isDeadlock, delayMs: (n) => 10 * n + Math.random() * 20 });
}
