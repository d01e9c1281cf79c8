import { FakeTollgate, verdict } from './fake-tollgate';

/** A fake Tollgate that judges by the presented key: `good`, `revoked`, `limited`, anything else unknown. */
export function judgingTollgate(): Promise<FakeTollgate> {
  return FakeTollgate.start((r) => {
    if (r.path.endsWith('/v1/usage/events')) {
      return { body: { results: r.body.events.map((e: { idempotencyKey: string }, index: number) => ({ index, idempotencyKey: e.idempotencyKey, status: 'accepted' })) } };
    }
    const { key, scopes = [] } = r.body as { key: string; scopes?: string[] };
    if (key === 'revoked') return { body: verdict({ valid: false, code: 'KEY_REVOKED', rateLimits: [] }) };
    if (key === 'limited') {
      return { body: verdict({ valid: false, code: 'RATE_LIMIT_EXCEEDED', rateLimits: [{ name: 'default', limit: 2, windowSeconds: 60, remaining: 0, reset: 30 }] }) };
    }
    if (key !== 'good') return { body: verdict({ valid: false, code: 'INVALID_API_KEY', keyId: null, consumerId: null, scopes: [], rateLimits: [] }) };
    if (scopes.some((s) => s !== 'orders:read')) return { body: verdict({ valid: false, code: 'INSUFFICIENT_PERMISSIONS', rateLimits: [] }) };
    return { body: verdict() };
  });
}

/** What every adapter must answer, whatever the framework. */
export const REFUSALS = [
  { key: undefined, status: 401, error: 'MISSING_API_KEY' },
  { key: 'nope', status: 401, error: 'INVALID_API_KEY' },
  { key: 'revoked', status: 401, error: 'KEY_REVOKED' },
  { key: 'limited', status: 429, error: 'RATE_LIMIT_EXCEEDED', retryAfter: '30' },
] as const;
