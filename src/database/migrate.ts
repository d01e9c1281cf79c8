import { closeSync, openSync, statSync, unlinkSync } from 'node:fs';
import type { DataSource } from 'typeorm';
import { dialectOf } from './dialect';

const LOCK_NAME = 'tollgate_migrations';

/**
 * Runs pending migrations. Several instances may start at once: on MySQL the run happens under a named
 * server lock, on SQLite under a lock file beside the database (processes sharing one file).
 */
export async function runMigrationsLocked(dataSource: DataSource, timeoutSeconds = 120): Promise<string[]> {
  const namedLock = dialectOf(dataSource).namedLock;
  if (!namedLock) {
    const database = String((dataSource.options as { database?: unknown }).database ?? ':memory:');
    const release = database === ':memory:' ? () => undefined : await lockFile(`${database}.migrating`, timeoutSeconds);
    try {
      const done = await dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      release();
    }
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    if (!(await namedLock.acquire(runner, LOCK_NAME, timeoutSeconds))) throw new Error(`could not take the migration lock within ${timeoutSeconds}s`);
    try {
      const done = await dataSource.runMigrations({ transaction: 'each' });
      return done.map((m) => m.name);
    } finally {
      await namedLock.release(runner, LOCK_NAME);
    }
  } finally {
    await runner.release();
  }
}

/** An exclusive lock file; one left behind by a crashed process is taken over after the timeout. */
async function lockFile(path: string, timeoutSeconds: number): Promise<() => void> {
  const until = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx'));
      return () => {
        try {
          unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(path).mtimeMs > timeoutSeconds * 1000) unlinkSync(path);
      } catch {
        /* released meanwhile */
      }
      if (Date.now() > until) throw new Error(`could not take the migration lock ${path} within ${timeoutSeconds}s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
