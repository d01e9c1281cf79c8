import { Column, ColumnOptions } from 'typeorm';

/** datetime(3) in UTC on MySQL (the connection runs with timezone 'Z'); ISO text on SQLite. */
export const TimeColumn = (options: ColumnOptions = {}) => Column({ type: 'datetime', precision: 3, ...options });

/** JSON kept in a text column: portable across SQLite and MySQL/MariaDB. */
export const JsonColumn = (options: ColumnOptions = {}) => Column({ type: 'simple-json', ...options });

/** BIGINT that fits in a JS number; mysql2 hands it over as a string. */
export const BigIntColumn = (options: ColumnOptions = {}) =>
  Column({
    type: 'bigint',
    transformer: { to: (v: number | null) => v, from: (v: string | number | null) => (v === null ? null : Number(v)) },
    ...options,
  });

/** The TypeScript type of a JSON object column. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = { [key: string]: any };
