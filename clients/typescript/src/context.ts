import type { UsageEvent, UsageReporter } from './usage-reporter';
import type { VerifiedKey, Verification } from './verifier';

/** What a protected request carries after verification (`req.tollgate`). */
export interface TollgateContext {
  /** The verified key; null when the request went through unverified because Tollgate was unreachable (failOpen). */
  key: VerifiedKey | null;
  consumer: { id: string } | null;
  verification: Verification;
  /** Meters `quantity` of `metric` for the key's consumer, batched (needs a reporter and a key with `usage:write`). */
  report(metric: string, quantity: number, event?: Omit<UsageEvent, 'metric' | 'quantity'>): void;
}

export function contextOf(verification: Verification, reporter: UsageReporter | undefined): TollgateContext {
  return {
    key: verification.key,
    consumer: verification.consumer,
    verification,
    report(metric, quantity, event) {
      if (!reporter) throw new Error('No usage reporter was given to the Tollgate adapter');
      // Unverified (failed open): there is no consumer to meter.
      if (!verification.key || !verification.presentedKey || quantity <= 0) return;
      reporter.report(verification.presentedKey, { ...event, metric, quantity });
    },
  };
}
