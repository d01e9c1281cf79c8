import Database from 'better-sqlite3';
import { createConnection, type Connection } from 'mysql2/promise';
import { queryDb } from './db';
import type { TestDatabase, TestServer } from './server';

/**
 * Tools that put a server's database work "in flight" at a chosen statement, so that a second request
 * can be sent while the first one is inside its transaction, in an order the test chooses.
 */

/** Resolves true when `until` holds, false when `settled` settled first or the time ran out. */
async function poll(until: () => Promise<boolean>, settled: Promise<unknown> | undefined, timeoutMs: number, everyMs = 20): Promise<boolean> {
  let done = false;
  settled?.then(
    () => (done = true),
    () => (done = true),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await until()) return true;
    if (done || Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * MySQL: a transaction of the test's own holding row locks taken by `sql` (a `… FOR UPDATE`), until
 * release(). A server statement that needs one of those rows waits for it, and whatever that statement's
 * transaction already locked stays locked meanwhile.
 */
export class HeldRows {
  private constructor(private readonly conn: Connection) {}

  static async lock(db: TestDatabase, sql: string, params: unknown[]): Promise<HeldRows> {
    const conn = await createConnection({ uri: db.mysqlUrl!, timezone: 'Z' });
    // Repeatable read: a range read also locks the gaps, so inserts into the range wait too.
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await conn.beginTransaction();
    await conn.query(sql, params);
    return new HeldRows(conn);
  }

  async release(): Promise<void> {
    try {
      await this.conn.rollback();
    } finally {
      await this.conn.end();
    }
  }
}

/** The statements of this database's transactions that are waiting for a row lock (MySQL). */
export async function lockWaits(db: TestDatabase): Promise<string[]> {
  const schema = decodeURIComponent(new URL(db.mysqlUrl!).pathname.slice(1));
  const rows = await queryDb<{ q: string | null }>(
    db,
    `SELECT t.trx_query AS q FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
      WHERE t.trx_state = 'LOCK WAIT' AND p.DB = ?`,
    [schema],
  );
  return rows.map((r) => String(r.q ?? ''));
}

/**
 * Waits until a statement matching `match` waits for a row lock (true), or `settled` (the request that
 * would run it, if any) has been answered, or 5 s have passed (false). InnoDB refreshes what
 * information_schema shows of transactions only once it has not been read for 0.1 s: poll slower than that.
 */
export function waitForLockWait(db: TestDatabase, match: (sql: string) => boolean, settled?: Promise<unknown>, timeoutMs = 5000): Promise<boolean> {
  return poll(async () => (await lockWaits(db)).some(match), settled, timeoutMs, 150);
}

/**
 * SQLite: the database's write lock, held by a connection of the test's own until release(). A server
 * transaction (it takes the lock at BEGIN) or a single write waits for it in SQLite's busy handler;
 * better-sqlite3 is synchronous, so the whole server waits there and reads the requests sent meanwhile
 * only afterwards. Keep the hold shorter than the server's busy timeout (5 s), past which the waiting
 * request answers 503.
 */
export class HeldSqliteWrites {
  private constructor(private readonly conn: Database.Database) {}

  static take(db: TestDatabase): HeldSqliteWrites {
    const conn = new Database(db.sqlitePath!, { timeout: 5000 });
    conn.exec('BEGIN IMMEDIATE');
    return new HeldSqliteWrites(conn);
  }

  release(): void {
    try {
      this.conn.exec('ROLLBACK');
    } finally {
      this.conn.close();
    }
  }
}

/**
 * Does the server answer a liveness probe within `ms`? A probe that is late is left to finish, not
 * aborted: a connection dropped while the server could not read it holds up the server's shutdown.
 */
export async function answers(server: TestServer, ms = 300): Promise<boolean> {
  const probe = fetch(`${server.url}/health/live`).then(
    (r) => r.ok,
    () => false,
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([probe, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits until the server stops answering (true: it waits for the held SQLite write lock), or `settled`
 * has been answered, or the time is up (false).
 */
export function waitUntilStalled(server: TestServer, settled?: Promise<unknown>, timeoutMs = 3000): Promise<boolean> {
  return poll(async () => !(await answers(server)), settled, timeoutMs);
}
