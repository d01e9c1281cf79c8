import type { AuthConsumer, AuthKey, QuotaRule, RateLimitRule } from '../../src/auth/auth-key';

/** Key records as the key cache builds them, for specs. */
export function consumerKey(
  opts: {
    id?: string;
    consumerId?: string;
    keyLimits?: RateLimitRule[];
    planLimits?: RateLimitRule[];
    quotas?: QuotaRule[];
    plan?: boolean;
    anchorDay?: number;
    createdAt?: number;
  } = {},
): AuthKey {
  const hasPlan = opts.plan ?? Boolean(opts.planLimits || opts.quotas);
  const consumer: AuthConsumer = {
    id: opts.consumerId ?? 'cons_1',
    status: 'active',
    planId: hasPlan ? 'plan_1' : null,
    billingAnchorDay: opts.anchorDay ?? 1,
    createdAt: opts.createdAt ?? Date.UTC(2026, 0, 1),
    plan: hasPlan ? { id: 'plan_1', rateLimits: opts.planLimits ?? [], quotas: opts.quotas ?? [] } : null,
  };
  return {
    id: opts.id ?? 'key_1',
    kind: 'secret',
    name: 'k',
    environment: 'live',
    scopes: [],
    expiresAt: null,
    revokedAt: null,
    ipMatcher: null,
    allowedOrigins: null,
    rateLimits: opts.keyLimits ?? [],
    consumer,
  };
}

export function adminKey(opts: { id?: string; keyLimits?: RateLimitRule[] } = {}): AuthKey {
  return {
    id: opts.id ?? 'key_admin',
    kind: 'admin',
    name: 'admin',
    environment: 'live',
    scopes: ['*'],
    expiresAt: null,
    revokedAt: null,
    ipMatcher: null,
    allowedOrigins: null,
    rateLimits: opts.keyLimits ?? [],
    consumer: null,
  };
}
