import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { DatabaseSettings } from '../config/settings';

/** Data source options shared by the app, the CLI and `ormconfig.ts`; entities are added by the caller. */
export function dataSourceOptions(db: DatabaseSettings): DataSourceOptions {
  const migrations = [join(__dirname, 'migrations', '*.{js,ts}')].map((p) => p.replace(/\\/g, '/'));
  if (db.type === 'mysql') {
    return {
      type: 'mysql',
      url: db.url,
      // Replicas serve only the reads that ask for one (ReplicaReads); everything else, reads included,
      // stays on the primary, so that a read after a write sees it.
      ...(db.replicaUrls?.length
        ? {
            replication: {
              master: { url: db.url },
              slaves: db.replicaUrls.map((url) => ({ url })),
              defaultMode: 'master' as const,
              // A replica that refuses a connection sits out a second instead of being removed for good.
              removeNodeErrorCount: 1,
              restoreNodeTimeout: 1000,
            },
          }
        : {}),
      timezone: 'Z',
      charset: 'utf8mb4_unicode_ci',
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: false,
      connectTimeout: 3000,
      poolSize: db.poolSize,
      // A pool that waits forever for a connection would hold requests while the database is down.
      extra: { connectionLimit: db.poolSize, queueLimit: 1000, enableKeepAlive: true },
      synchronize: false,
      migrationsRun: false,
      migrations,
      migrationsTableName: 'migrations',
    };
  }
  if (db.sqlitePath !== ':memory:') mkdirSync(dirname(db.sqlitePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: db.sqlitePath,
    enableWAL: true,
    timeout: 5000,
    statementCacheSize: 500,
    synchronize: false,
    migrationsRun: false,
    migrations,
    migrationsTableName: 'migrations',
  };
}
