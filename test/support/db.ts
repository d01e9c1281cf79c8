import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import type { TestDatabase } from './server';

/** Runs a read query against a test database directly, for assertions on what was stored. */
export async function queryDb<T = any>(db: TestDatabase, sql: string, params: unknown[] = []): Promise<T[]> {
  if (db.mysqlUrl) {
    const conn = await createConnection({ uri: db.mysqlUrl, timezone: 'Z' });
    try {
      const [rows] = await conn.query(sql, params);
      return rows as T[];
    } finally {
      await conn.end();
    }
  }
  const sqlite = new Database(db.sqlitePath!, { timeout: 5000 });
  try {
    const stmt = sqlite.prepare(sql);
    return (stmt.reader ? stmt.all(...params) : (stmt.run(...params), [])) as T[];
  } finally {
    sqlite.close();
  }
}

/** Every text cell of every table, for "this secret is stored nowhere" assertions. */
export async function dumpAllText(db: TestDatabase): Promise<string> {
  const tables = db.mysqlUrl
    ? (await queryDb<{ t: string }>(db, 'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()')).map((r) => r.t)
    : (await queryDb<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name);
  const parts: string[] = [];
  for (const t of tables) {
    const rows = await queryDb(db, db.mysqlUrl ? `SELECT * FROM \`${t}\`` : `SELECT * FROM "${t}"`);
    parts.push(JSON.stringify(rows));
  }
  return parts.join('\n');
}
