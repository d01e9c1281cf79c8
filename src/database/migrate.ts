import type { DataSource } from 'typeorm';

const LOCK_NAME = 'tollgate_migrations';

/**
 * Runs pending migrations. On MySQL several instances may start at once, so the run happens under a
 * named server lock; SQLite is one file with one writer and needs none.
 */
export async function runMigrationsLocked(dataSource: DataSource, timeoutSeconds = 120): Promise<string[]> {
  if (dataSource.options.type !== 'mysql') {
    const done = await dataSource.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    const [row] = await runner.query('SELECT GET_LOCK(?, ?) AS got', [LOCK_NAME, timeoutSeconds]);
    if (Number(row?.got) !== 1) throw new Error(`could not take the migration lock within ${timeoutSeconds}s`);
    try {
      const done = await dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
    }
  } finally {
    await runner.release();
  }
}
