import type { KeyEnvironment } from './key-format';
import type { IpMatcher } from './ip-matcher';
import type { KeyKind } from './scopes';

export interface RateLimitRule {
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface QuotaRule {
  metric: string;
  limit: number;
  period: 'month';
  /** Percentages of the limit that send a quota.threshold webhook; default [80, 100]. */
  thresholds?: number[];
}

/** What the guards need to know about a key, its consumer and plan; built once per cache fill. */
export interface AuthKey {
  id: string;
  kind: KeyKind;
  name: string;
  environment: KeyEnvironment;
  scopes: string[];
  expiresAt: number | null;
  revokedAt: number | null;
  ipMatcher: IpMatcher | null;
  allowedOrigins: string[] | null;
  rateLimits: RateLimitRule[];
  consumer: AuthConsumer | null;
}

export interface AuthConsumer {
  id: string;
  status: 'active' | 'suspended';
  planId: string | null;
  billingAnchorDay: number;
  createdAt: number;
  plan: { id: string; rateLimits: RateLimitRule[]; quotas: QuotaRule[] } | null;
}

/** Attached to the request by ApiKeyGuard. */
export interface AuthContext {
  key: AuthKey;
  /** Where the request came from, after TRUST_PROXY is applied. */
  ip: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}
