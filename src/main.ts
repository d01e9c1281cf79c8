import 'reflect-metadata';
import { createApp } from './app.factory';
import { validateEnv } from './config/env.validation';

async function bootstrap(): Promise<void> {
  let env;
  try {
    env = validateEnv(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const app = await createApp();
  await app.listen({ port: env.PORT, host: env.HOST });
  app.getHttpAdapter().getInstance().log.info({ port: env.PORT, db: env.DB_TYPE, redis: Boolean(env.REDIS_URL) }, 'Tollgate is listening');
}

bootstrap().catch((err) => {
  process.stderr.write(`Tollgate failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
