import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

export interface DatabaseEnv {
  DB_TYPE: 'sqlite' | 'mysql';
  SQLITE_PATH: string;
  DATABASE_URL?: string;
  DB_POOL_SIZE: number;
}

/** Data source options shared by the app, the CLI and `ormconfig.ts`; entities are added by the caller. */
export function dataSourceOptions(env: DatabaseEnv): DataSourceOptions {
  const migrations = [join(__dirname, 'migrations', '*.{js,ts}')].map((p) => p.replace(/\\/g, '/'));
  if (env.DB_TYPE === 'mysql') {
    return {
      type: 'mysql',
      url: env.DATABASE_URL,
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: false,
      connectTimeout: 3000,
      poolSize: env.DB_POOL_SIZE,
      // A pool that waits forever for a connection would hold requests while the database is down.
      extra: { connectionLimit: env.DB_POOL_SIZE, queueLimit: 1000, enableKeepAlive: true },
      synchronize: false,
      migrationsRun: false,
      migrations,
      migrationsTableName: 'migrations',
    };
  }
  if (env.SQLITE_PATH !== ':memory:') mkdirSync(dirname(env.SQLITE_PATH), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: env.SQLITE_PATH,
    enableWAL: true,
    timeout: 5000,
    statementCacheSize: 500,
    synchronize: false,
    migrationsRun: false,
    migrations,
    migrationsTableName: 'migrations',
  };
}
