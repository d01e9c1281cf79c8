import type { EntityManager } from 'typeorm';
import { isDuplicateKey } from '../common/db-errors';
import { addUsageTotals } from '../billing/usage-totals';
import { rowsOfExisting, sqlTime, upsertAdd } from '../database/sql';
import { addMetricTotals } from './usage-metric-totals';

/** One counter of usage_rollups: `quantity` of `metric` used by a key in one minute. */
export type RollupRow = {
  consumer_id: string;
  /** Whole minutes since the epoch. */
  bucket: number;
  metric: string;
  key_id: string;
  environment: string;
  quantity: number;
};

/** What one flush transaction writes. `id` makes a retried batch apply once. */
export interface UsageBatch {
  id: string;
  rows: RollupRow[];
  /** Keys seen, and the latest time one of them was used. */
  lastUsed: { keyIds: string[]; at: number } | null;
  /** When the oldest count in the batch was recorded (for the lag metric). */
  oldestAt: number;
}

export const ROLLUP_KEY = ['consumer_id', 'bucket', 'metric', 'key_id'];

/** The primary-key order of usage_rollups: writers that lock rows in the same order do not deadlock. */
export function compareRollups(a: RollupRow, b: RollupRow): number {
  if (a.consumer_id !== b.consumer_id) return a.consumer_id < b.consumer_id ? -1 : 1;
  if (a.bucket !== b.bucket) return a.bucket - b.bucket;
  if (a.metric !== b.metric) return a.metric < b.metric ? -1 : 1;
  if (a.key_id !== b.key_id) return a.key_id < b.key_id ? -1 : 1;
  return 0;
}

/**
 * Adds counter rows (sorted by key) to usage_rollups, their per-day sums to usage_daily_totals (what
 * billing reads) and their sums over all consumers to usage_metric_totals (what reads across consumers
 * use), in the caller's transaction: the three can never disagree. usage_rollups has no index but its
 * key (consumer first), so that each counter row costs one index entry to write.
 */
export async function addRollups(m: EntityManager, rows: RollupRow[]): Promise<void> {
  await upsertAdd(m, 'usage_rollups', ROLLUP_KEY, ['quantity'], ['environment'], rows);
  await addUsageTotals(m, rows);
  await addMetricTotals(m, rows);
}

const LAST_USED_CHUNK = 1000;
/**
 * Writes one batch inside the caller's transaction. Returns false when the batch had already been
 * applied (an earlier attempt committed, but its answer was lost).
 */
export async function writeUsageBatch(m: EntityManager, batch: UsageBatch, now = new Date()): Promise<boolean> {
  try {
    await m.query('INSERT INTO usage_flushes (id, created_at) VALUES (?, ?)', [batch.id, sqlTime(now)]);
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
  await writeUsage(m, batch.rows, batch.lastUsed);
  return true;
}

/**
 * Writes counter rows and lastUsedAt inside the caller's transaction (whose batch id the caller has
 * recorded). Counts of consumers deleted since they were buffered (here or on any instance) are left out:
 * the consumer and its keys are gone, and a row without them would be an orphan that no invoice or export
 * can name.
 */
export async function writeUsage(m: EntityManager, rows: RollupRow[], lastUsed: UsageBatch['lastUsed']): Promise<void> {
  // On MySQL the consumers are read under a shared lock: a consumer delete (which locks its row for update)
  // then either waits for this flush and finds its usage (and refuses), or commits first and this flush
  // finds the consumer gone.
  const kept = await rowsOfExisting(m, 'consumers', rows, (r) => r.consumer_id);
  if (lastUsed && lastUsed.keyIds.length) {
    // One statement per flush (in chunks only for very many keys); never moves last_used_at backwards.
    const at = sqlTime(new Date(lastUsed.at));
    const ids = lastUsed.keyIds;
    for (let i = 0; i < ids.length; i += LAST_USED_CHUNK) {
      const chunk = ids.slice(i, i + LAST_USED_CHUNK);
      await m.query(
        `UPDATE api_keys SET last_used_at = ? WHERE id IN (${chunk.map(() => '?').join(', ')}) AND (last_used_at IS NULL OR last_used_at < ?)`,
        [at, ...chunk, at],
      );
    }
  }
  // Last: it ends with the rows every flush adds to (see addMetricTotals).
  await addRollups(m, kept);
}
