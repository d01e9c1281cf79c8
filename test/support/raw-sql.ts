import { queryDb } from './db';
import type { TestDatabase } from './server';

/**
 * Direct SQL on a test server's database, for set-ups the HTTP API does not offer (plans with given ids,
 * recorded usage). `?` placeholders on both databases; times as 'YYYY-MM-DD HH:MM:SS.sss' UTC.
 */
export interface RawSql {
  run(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
}

export async function rawSql(db: TestDatabase): Promise<RawSql> {
  return {
    run: async (sql, params = []) => {
      await queryDb(db, sql, params);
    },
    close: async () => undefined,
  };
}

export const sqlTime = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '');

let planSeq = 0;

/** Inserts a plan (DESIGN's shape) and returns its id. */
export async function insertPlan(
  sql: RawSql,
  plan: { rateLimits?: unknown[]; quotas?: unknown[]; name?: string } = {},
): Promise<string> {
  const id = `plan_${Date.now().toString(36)}x${(planSeq++).toString().padStart(4, '0')}${Math.random().toString(36).slice(2, 8)}`.replace(
    /[^0-9A-Za-z_]/g,
    '',
  );
  const now = sqlTime(new Date());
  await sql.run(
    'INSERT INTO plans (id, name, currency, base_fee_minor, rate_limits, quotas, prices, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [id, plan.name ?? 'Test plan', 'USD', 0, JSON.stringify(plan.rateLimits ?? []), JSON.stringify(plan.quotas ?? []), '[]', '{}', now, now],
  );
  return id;
}
