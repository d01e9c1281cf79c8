import { consumerWithKey, sleep } from './fixtures';
import { insertPlan, rawSql } from './raw-sql';
import type { Response, TestServer } from './server';

export const countStatus = (responses: Response[], status: number) => responses.filter((r) => r.status === status).length;

/**
 * What two instances sharing one database and one Redis (a single server or a cluster) must agree on: a key's
 * limit and a plan's quota counted exactly once across both, and a revocation on one refused by the other
 * within a second. `pair` is read when the tests run, after the suite's beforeAll started both instances.
 */
export function sharedInstanceCases(pair: () => { a: TestServer; b: TestServer }): void {
  it('admits exactly the limit of one key across both instances under concurrency', async () => {
    const { a, b } = pair();
    const { plaintext } = await consumerWithKey(a, { scopes: [], rateLimits: [{ name: 'twenty', limit: 20, windowSeconds: 60 }] });
    // Warm both key caches so that the burst below is decided by the limiter alone.
    await a.get('/v1/me/ping', plaintext);
    await b.get('/v1/me/ping', plaintext);
    const responses = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).get('/v1/me/ping', plaintext)));
    expect(countStatus(responses, 200)).toBe(18);
    expect(countStatus(responses, 429)).toBe(42);
  });

  it('shares a quota across both instances exactly', async () => {
    const { a, b } = pair();
    const sql = await rawSql(a.db);
    try {
      const planId = await insertPlan(sql, { quotas: [{ metric: 'requests', limit: 15, period: 'month' }] });
      const { plaintext } = await consumerWithKey(a, { scopes: [] }, { planId });
      const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).get('/v1/me/ping', plaintext)));
      expect(countStatus(responses, 200)).toBe(15);
      expect(countStatus(responses, 429)).toBe(25);
      expect(responses.filter((r) => r.status === 429).every((r) => r.body.error === 'QUOTA_EXCEEDED')).toBe(true);
    } finally {
      await sql.close();
    }
  });

  it('refuses a key revoked on A on B within one second', async () => {
    const { a, b } = pair();
    const { key, plaintext } = await consumerWithKey(a, { scopes: [] });
    expect((await b.get('/v1/me/ping', plaintext)).status).toBe(200);
    expect((await a.post(`/v1/admin/keys/${key.id}/revoke`, {}, a.adminKey)).status).toBe(200);
    const revokedAt = Date.now();
    let last: Response;
    do {
      last = await b.get('/v1/me/ping', plaintext);
      if (last.status === 401) break;
      await sleep(20);
    } while (Date.now() - revokedAt < 3_000);
    expect(last.status).toBe(401);
    expect(last.body.error).toBe('KEY_REVOKED');
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(1_000);
  });
}
