import type { DataSource, EntityManager, QueryRunner, SelectQueryBuilder } from 'typeorm';

type Db = DataSource | EntityManager | QueryRunner;

/**
 * Everything that differs between the databases Tollgate runs on, in one place: quoting, the counter
 * upsert, row locks, named locks, collations and how transactions share a connection. Supporting a third
 * database is one more implementation of this interface.
 */
export interface Dialect {
  readonly name: 'mysql' | 'sqlite';
  /** Quotes an identifier (`start`, `end` and `timestamp` are reserved words). */
  quote(name: string): string;
  /** The tail of a multi-row INSERT that ADDS `addColumns` and sets `setColumns` on a key conflict. */
  upsertAddTail(keyColumns: readonly string[], addColumns: readonly string[], setColumns: readonly string[]): string;
  /** The tail of an INSERT that keeps the existing row on a key conflict. */
  insertIgnoreTail(keyColumns: readonly string[]): string;
  /** `FOR UPDATE` (optionally `SKIP LOCKED`) where rows can be locked; nothing where transactions are serialized. */
  forUpdate(opts?: { skipLocked?: boolean }): string;
  /** A shared row lock: writers wait for the reading transaction. */
  forShare(): string;
  /** The same as forUpdate() on a query builder. */
  lockForUpdate<T extends object>(qb: SelectQueryBuilder<T>): SelectQueryBuilder<T>;
  /**
   * True when all work shares one connection (SQLite): transactions must be queued, and rows need no
   * locks. False when each transaction has a connection of its own (MySQL).
   */
  readonly serializesTransactions: boolean;
  /** Takes a server-wide named lock on `runner`'s connection; resolves false on timeout. Null: unsupported. */
  readonly namedLock: null | {
    acquire(runner: QueryRunner, name: string, timeoutSeconds: number): Promise<boolean>;
    release(runner: QueryRunner, name: string): Promise<void>;
  };
}

const mysql: Dialect = {
  name: 'mysql',
  quote: (name) => `\`${name}\``,
  upsertAddTail(keyColumns, addColumns, setColumns) {
    const q = mysql.quote;
    const update = [...addColumns.map((c) => `${q(c)} = ${q(c)} + VALUES(${q(c)})`), ...setColumns.map((c) => `${q(c)} = VALUES(${q(c)})`)];
    return ` ON DUPLICATE KEY UPDATE ${update.join(', ')}`;
  },
  // Assigning a key column to itself is the no-op that keeps the row (INSERT IGNORE would hide other errors).
  insertIgnoreTail: (keyColumns) => ` ON DUPLICATE KEY UPDATE ${mysql.quote(keyColumns[0])} = ${mysql.quote(keyColumns[0])}`,
  forUpdate: (opts) => (opts?.skipLocked ? ' FOR UPDATE SKIP LOCKED' : ' FOR UPDATE'),
  forShare: () => ' LOCK IN SHARE MODE',
  lockForUpdate: (qb) => qb.setLock('pessimistic_write'),
  serializesTransactions: false,
  namedLock: {
    async acquire(runner, name, timeoutSeconds) {
      const [row] = await runner.query('SELECT GET_LOCK(?, ?) AS got', [name, timeoutSeconds]);
      return Number(row?.got) === 1;
    },
    async release(runner, name) {
      await runner.query('SELECT RELEASE_LOCK(?)', [name]);
    },
  },
};

const sqlite: Dialect = {
  name: 'sqlite',
  quote: (name) => `"${name}"`,
  upsertAddTail(keyColumns, addColumns, setColumns) {
    const q = sqlite.quote;
    const update = [...addColumns.map((c) => `${q(c)} = ${q(c)} + excluded.${q(c)}`), ...setColumns.map((c) => `${q(c)} = excluded.${q(c)}`)];
    return ` ON CONFLICT (${keyColumns.map(q).join(', ')}) DO UPDATE SET ${update.join(', ')}`;
  },
  insertIgnoreTail: (keyColumns) => ` ON CONFLICT (${keyColumns.map(sqlite.quote).join(', ')}) DO NOTHING`,
  // One connection, transactions queued one at a time: nothing else can hold or want the rows.
  forUpdate: () => '',
  forShare: () => '',
  lockForUpdate: (qb) => qb,
  serializesTransactions: true,
  namedLock: null,
};

function dataSourceOf(db: Db): DataSource {
  if ('manager' in db && 'driver' in db && 'options' in db) return db as DataSource;
  return (db as EntityManager | QueryRunner).connection;
}

export function dialectOf(db: Db): Dialect {
  return dataSourceOf(db).options.type === 'mysql' ? mysql : sqlite;
}

/**
 * MySQL/MariaDB's utf8mb4_bin is PAD SPACE, so `"a"` and `"a "` collide in a unique index: the binary
 * collation that compares trailing spaces too is utf8mb4_nopad_bin (MariaDB ≥ 10.2) or utf8mb4_0900_bin
 * (MySQL ≥ 8.0); older servers keep utf8mb4_bin (undefined here). SQLite compares bytes already.
 */
export async function noPadBinaryCollation(queryRunner: QueryRunner): Promise<string | undefined> {
  if (dialectOf(queryRunner).name !== 'mysql') return undefined;
  for (const name of ['utf8mb4_nopad_bin', 'utf8mb4_0900_bin']) {
    const rows: unknown[] = await queryRunner.query('SHOW COLLATION WHERE Collation = ?', [name]);
    if (rows.length) return name;
  }
  return undefined;
}
