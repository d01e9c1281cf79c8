import { answerOf, rateLimitHeaders, retryAfterOf } from './answer';
import { verdict } from './testing/fake-tollgate';

describe('answerOf', () => {
  it('admits a valid key with the rate-limit headers Tollgate sets on its own routes', () => {
    const a = answerOf(verdict() as never, 'req_1');
    expect(a).toEqual({
      status: 200,
      headers: {
        'RateLimit-Policy': '"default";q=1000;w=60',
        RateLimit: '"default";r=999;t=42',
        'X-RateLimit-Limit': '1000',
        'X-RateLimit-Remaining': '999',
        'X-RateLimit-Reset': '42',
      },
    });
  });

  it.each([
    ['MISSING_API_KEY', 401],
    ['INVALID_API_KEY', 401],
    ['KEY_EXPIRED', 401],
    ['KEY_REVOKED', 401],
    ['CONSUMER_SUSPENDED', 403],
    ['IP_NOT_ALLOWED', 403],
    ['ORIGIN_NOT_ALLOWED', 403],
    ['INSUFFICIENT_PERMISSIONS', 403],
    ['CREDITS_EXHAUSTED', 402],
    ['SPEND_CAP_REACHED', 402],
  ])('maps %s to %i in the error shape', (code, status) => {
    const a = answerOf(verdict({ valid: false, code, rateLimits: [] }) as never, 'req_1');
    expect(a.status).toBe(status);
    expect(a.body).toEqual({ error: code, message: expect.any(String), statusCode: status, requestId: 'req_1' });
    expect(a.headers).toEqual({});
  });

  it('refuses an admin key (valid but not for a consumer route) with 403', () => {
    const a = answerOf(verdict({ valid: false, code: 'VALID', rateLimits: [] }) as never, 'req_1');
    expect(a.status).toBe(403);
    expect(a.body?.error).toBe('INSUFFICIENT_PERMISSIONS');
  });

  it('answers a rate limit with 429, Retry-After and the limit that frees up last', () => {
    const limits = [
      { name: 'default', limit: 1000, windowSeconds: 60, remaining: 0, reset: 10 },
      { name: 'burst', limit: 5, windowSeconds: 1, remaining: 3, reset: 1 },
      { name: 'hour', limit: 50, windowSeconds: 3600, remaining: 0, reset: 3000 },
    ];
    const a = answerOf(verdict({ valid: false, code: 'RATE_LIMIT_EXCEEDED', rateLimits: limits }) as never, 'req_1');
    expect(a.status).toBe(429);
    expect(a.body).toMatchObject({ error: 'RATE_LIMIT_EXCEEDED', retryAfter: 3000, statusCode: 429 });
    expect(a.headers).toMatchObject({
      'Retry-After': '3000',
      'X-RateLimit-Limit': '50',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '3000',
      'RateLimit-Policy': '"default";q=1000;w=60, "burst";q=5;w=1, "hour";q=50;w=3600',
      RateLimit: '"default";r=0;t=10, "burst";r=3;t=1, "hour";r=0;t=3000',
    });
  });

  it('answers an exhausted quota with 429 and Retry-After until the period ends', () => {
    const now = Date.parse('2026-12-05T10:00:00.000Z');
    const quota = { metric: 'requests', limit: 10, used: 10, remaining: 0, periodEnd: '2026-12-05T11:00:00.500Z' };
    const v = verdict({ valid: false, code: 'QUOTA_EXCEEDED', quota }) as never;
    expect(retryAfterOf(v, now)).toBe(3601);
    const a = answerOf(v, 'req_1', now);
    expect(a).toMatchObject({ status: 429, body: { error: 'QUOTA_EXCEEDED', retryAfter: 3601 }, headers: { 'Retry-After': '3601', 'X-RateLimit-Limit': '1000' } });
  });

  it('names the limit with the fewest requests left when admitted, and escapes names', () => {
    const h = rateLimitHeaders(
      [
        { name: 'a"b', limit: 10, remaining: 5, reset: 3 },
        { name: 'c', limit: 100, windowSeconds: 60, remaining: 2, reset: 30 },
      ],
      false,
    );
    expect(h['RateLimit-Policy']).toBe('"a\\"b";q=10, "c";q=100;w=60');
    expect(h['X-RateLimit-Limit']).toBe('100');
    expect(rateLimitHeaders([], false)).toEqual({});
  });
});
