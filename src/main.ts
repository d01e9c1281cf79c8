import 'reflect-metadata';
import type { Logger } from 'pino';
import { writeAfterLogs } from './common/logger';
import { maskUrlPasswords } from './common/mask-url';
import { loadEnvironment } from './config/env-file';
import { validateEnv } from './config/env.validation';
import { appSettings, AppSettings, databaseSettings, redisSettings } from './config/settings';
import { startupBanner, serviceUrls } from './startup-banner';

const ANOTHER_ADMIN_KEY = 'npm run cli -- create-admin-key --name <name>';

async function bootstrap(): Promise<void> {
  let settings: AppSettings, dbType: string, redis: boolean;
  try {
    loadEnvironment();
    const env = validateEnv(process.env);
    settings = appSettings(env);
    dbType = databaseSettings(env).type;
    redis = Boolean(redisSettings(env).url);
  } catch (err) {
    process.stderr.write(`${maskUrlPasswords((err as Error).message)}\n`);
    process.exit(1);
  }
  // Loaded only now: the application module reads its configuration when it is imported, after .env.
  const { createApp } = await import('./app.factory');
  const { BootstrapService } = await import('./keys/bootstrap.service');
  const app = await createApp();
  await app.listen({ port: settings.port, host: settings.host });
  const log = app.getHttpAdapter().getInstance().log as unknown as Logger;
  const urls = serviceUrls(settings);
  log.info({ api: urls.api, docs: urls.docs, dashboard: urls.dashboard, db: dbType, redis }, 'Tollgate is listening');
  const first = app.get(BootstrapService).outcome;
  if (first?.created && first.generated && first.key) {
    // Printed, not logged (it is no JSON line, and it is shown exactly once), on the log stream, so that it
    // comes after every line logged before it: the key is the last thing on the screen.
    writeAfterLogs(log, startupBanner(urls, first.key, ANOTHER_ADMIN_KEY));
  } else if (!first?.created) {
    log.info(`An admin key already exists (a key is shown only when it is created); to create another: ${ANOTHER_ADMIN_KEY}`);
  }
}

bootstrap().catch((err) => {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Tollgate failed to start: ${maskUrlPasswords(text)}\n`);
  process.exit(1);
});
