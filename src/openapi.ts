import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from './app.factory';
import { buildOpenApiDocument } from './swagger';

/** Writes openapi.json at the project root from the app itself, on a throwaway in-memory database. */
export async function generateOpenApi(): Promise<string> {
  process.env.DB_TYPE = 'sqlite';
  process.env.SQLITE_PATH = ':memory:';
  delete process.env.REDIS_URL;
  process.env.DOCS_ENABLED = 'false';
  const app = await createApp({ swaggerUi: false, logLevel: 'error' });
  await app.init();
  try {
    return JSON.stringify(buildOpenApiDocument(app), null, 2) + '\n';
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  generateOpenApi()
    .then((text) => {
      const file = join(__dirname, '..', '..', 'openapi.json');
      writeFileSync(file, text);
      process.stdout.write(`wrote ${file}\n`);
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
