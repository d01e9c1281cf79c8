import type { DataSource, EntityManager } from 'typeorm';
import { dialectOf } from './dialect';

type Db = DataSource | EntityManager;

/** mysql2 returns BIGINT, DECIMAL and SUM as strings; SQLite returns numbers. Convert at the edge. */
export function toNumber(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}

/** A date read from a raw query: MySQL gives a Date, SQLite gives 'YYYY-MM-DD HH:MM:SS.SSS' in UTC. */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  const s = String(value);
  return new Date(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`);
}

/** A Date as the parameter value both drivers compare correctly against datetime(3) columns. */
export function sqlTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

const EXISTING_CHUNK = 1000;

/**
 * The `rows` whose `idOf(row)` is still a row of `table` (by its `id` column). Where rows can be locked
 * they are read under a shared lock held to the end of the caller's transaction (Dialect.forShare), in id
 * order: a transaction that deletes one of them (and locks it for that) either waits for the caller's, or
 * has committed first and the row is not found. SQLite serializes transactions, so there the plain read is
 * enough.
 */
export async function rowsOfExisting<R>(m: EntityManager, table: string, rows: R[], idOf: (row: R) => string): Promise<R[]> {
  const ids = [...new Set(rows.map(idOf))].sort();
  if (ids.length === 0) return rows;
  const lock = dialectOf(m).forShare();
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += EXISTING_CHUNK) {
    const chunk = ids.slice(i, i + EXISTING_CHUNK);
    const existing: { id: string }[] = await m.query(`SELECT id FROM ${table} WHERE id IN (${chunk.map(() => '?').join(', ')})${lock}`, chunk);
    for (const r of existing) found.add(r.id);
  }
  return found.size === ids.length ? rows : rows.filter((row) => found.has(idOf(row)));
}

/**
 * Multi-row upsert that ADDS to counter columns on conflict (TypeORM's orUpdate overwrites).
 * Rows should be sorted by key so that concurrent writers lock in the same order.
 */
export async function upsertAdd(
  db: Db,
  table: string,
  keyColumns: string[],
  addColumns: string[],
  setColumns: string[],
  rows: Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = [...keyColumns, ...setColumns, ...addColumns];
  const dialect = dialectOf(db);
  // SQLite allows 32766 parameters per statement, MySQL 65535; keep each statement well below both.
  const perStatement = Math.max(1, Math.floor(30000 / columns.length));
  const q = dialect.quote;
  const tail = dialect.upsertAddTail(keyColumns, addColumns, setColumns);
  const placeholder = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const params: unknown[] = [];
    for (const row of chunk) for (const c of columns) params.push(row[c]);
    const sql = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES ${chunk.map(() => placeholder).join(', ')}${tail}`;
    await db.query(sql, params);
  }
}
