import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import type { TestDatabase } from './server';

/** Direct SQL on a suite's database, for asserting what was stored and for tampering with it. */
export interface RawDb {
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Quotes an identifier for this dialect (`before` is reserved in MySQL). */
  q(name: string): string;
  close(): Promise<void>;
}

export async function openRawDb(db: TestDatabase): Promise<RawDb> {
  if (db.mysqlUrl) {
    const conn = await createConnection({ uri: db.mysqlUrl, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: false });
    return {
      async query(sql, params = []) {
        const [rows] = await conn.query(sql, params);
        return Array.isArray(rows) ? (rows as any[]) : [];
      },
      q: (name) => `\`${name}\``,
      close: () => conn.end(),
    };
  }
  const sqlite = new Database(db.sqlitePath!);
  sqlite.pragma('busy_timeout = 5000');
  return {
    async query(sql, params = []) {
      const stmt = sqlite.prepare(sql);
      if (stmt.reader) return stmt.all(...params) as any[];
      stmt.run(...params);
      return [];
    },
    q: (name) => `"${name}"`,
    close: async () => void sqlite.close(),
  };
}
