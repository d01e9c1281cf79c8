import Database from 'better-sqlite3';
import { createConnection, Connection } from 'mysql2/promise';
import type { TestServer } from './server';

export interface UsageRow {
  consumerId: string;
  keyId?: string;
  at: Date | string;
  metric?: string;
  quantity: number;
  environment?: 'live' | 'test';
}

/**
 * Direct access to a test server's database: writes usage exactly as the usage flush does (minute
 * rollups plus the daily totals billing reads, added on conflict) and runs assertion queries.
 */
export class UsageStore {
  private constructor(
    private readonly sqlite: Database.Database | null,
    private readonly mysql: Connection | null,
  ) {}

  static async open(server: TestServer): Promise<UsageStore> {
    if (server.db.mysqlUrl) {
      const url = new URL(server.db.mysqlUrl);
      const conn = await createConnection({
        host: url.hostname,
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.slice(1),
        timezone: 'Z',
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
      return new UsageStore(null, conn);
    }
    const db = new Database(server.db.sqlitePath!);
    db.pragma('busy_timeout = 5000');
    return new UsageStore(db, null);
  }

  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.mysql) {
      const [rows] = await this.mysql.query(sql, params);
      return rows as T[];
    }
    const stmt = this.sqlite!.prepare(sql);
    if (stmt.reader) return stmt.all(...params) as T[];
    stmt.run(...params);
    return [];
  }

  /**
   * Adds usage (live by default) at the minute of `at`, to the three tables the flush adds to: the minute
   * rollups, the daily totals and the totals over all consumers per granularity.
   */
  async add(rows: UsageRow[]): Promise<void> {
    for (const r of rows) {
      const minute = Math.floor(new Date(r.at).getTime() / 60000);
      const day = Math.floor(minute / 1440);
      const at = new Date(minute * 60000);
      const month = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1) / 60000;
      const env = r.environment ?? 'live';
      const metric = r.metric ?? 'requests';
      const keyId = r.keyId ?? `key_${env}seed0000000000000000`;
      const statements: [string, unknown[]][] = [
        ['INSERT INTO usage_rollups (consumer_id, bucket, metric, key_id, environment, quantity) VALUES (?, ?, ?, ?, ?, ?)', [r.consumerId, minute, metric, keyId, env, r.quantity]],
        ['INSERT INTO usage_daily_totals (consumer_id, environment, metric, day, quantity) VALUES (?, ?, ?, ?, ?)', [r.consumerId, env, metric, day, r.quantity]],
        ...(
          [
            ['minute', minute],
            ['hour', minute - (minute % 60)],
            ['day', day * 1440],
            ['month', month],
          ] as const
        ).map(([granularity, bucket]): [string, unknown[]] => [
          'INSERT INTO usage_metric_totals (granularity, bucket, metric, environment, quantity) VALUES (?, ?, ?, ?, ?)',
          [granularity, bucket, metric, env, r.quantity],
        ]),
      ];
      const keys: Record<string, string> = {
        usage_rollups: 'consumer_id, bucket, metric, key_id',
        usage_daily_totals: 'consumer_id, environment, metric, day',
        usage_metric_totals: 'granularity, bucket, metric, environment',
      };
      if (this.mysql) {
        for (const [sql, params] of statements) await this.mysql.query(`${sql} ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity)`, params);
      } else {
        this.sqlite!.transaction(() => {
          for (const [sql, params] of statements) {
            const table = /INTO (\w+)/.exec(sql)![1];
            this.sqlite!.prepare(`${sql} ON CONFLICT (${keys[table]}) DO UPDATE SET quantity = quantity + excluded.quantity`).run(...params);
          }
        })();
      }
    }
  }

  /** Moves a consumer's creation back in time (before any of its periods is opened), to bill past months. */
  async backdateConsumer(consumerId: string, createdAt: string): Promise<void> {
    const at = new Date(createdAt).toISOString().replace('T', ' ').replace('Z', '');
    await this.query('UPDATE consumers SET created_at = ? WHERE id = ?', [at, consumerId]);
  }

  async close(): Promise<void> {
    this.sqlite?.close();
    await this.mysql?.end();
  }
}

/** RFC 4180 CSV (quoted cells, doubled quotes, CRLF or LF) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
