/** The SDK: the typed client, the verifier and its framework adapters' shared pieces, and the usage reporter. */
export * from './client';
export { answerOf, rateLimitHeaders, refusal, type Answer, type ErrorBody, type Verdict } from './answer';
export type { TollgateContext } from './context';
export { createUsageReporter, type UsageEvent, type UsageFailure, type UsageReporter, type UsageReporterOptions } from './usage-reporter';
export {
  createVerifier,
  type Requirement,
  type UnreachableEvent,
  type VerifiedKey,
  type Verification,
  type Verifier,
  type VerifierOptions,
  type VerifyInput,
} from './verifier';

/** The same as createUsageReporter: `const usage = reportUsage({ baseUrl })`, then `usage.report(key, event)`. */
export { createUsageReporter as reportUsage } from './usage-reporter';
