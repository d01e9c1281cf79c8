import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createApp } from './app.factory';
import { generateKey } from './auth/key-format';
import { buildOpenApiDocument } from './swagger';

/** The project root, where the committed openapi.json lives (this file runs from dist/src/). */
const DEFAULT_OUT = resolve(__dirname, '..', '..', 'openapi.json');

/** The OpenAPI document of the app itself, built on a throwaway in-memory database. */
export async function generateOpenApi(): Promise<string> {
  process.env.DB_TYPE = 'sqlite';
  process.env.SQLITE_PATH = ':memory:';
  delete process.env.REDIS_URL;
  // The committed document names no instance-specific header (API_KEY_HEADER adds a security scheme).
  delete process.env.API_KEY_HEADER;
  process.env.DOCS_ENABLED = 'false';
  // A first admin key is created on the empty database; given one, it is not printed.
  process.env.ADMIN_API_KEY = generateKey('tg', 'live').key;
  const app = await createApp({ swaggerUi: false, logLevel: 'error' });
  await app.init();
  try {
    return JSON.stringify(buildOpenApiDocument(app), null, 2) + '\n';
  } finally {
    await app.close();
  }
}

/** `node dist/src/openapi.js [--out <file>]`; OPENAPI_OUT works too. Defaults to openapi.json at the project root. */
function outputPath(argv: string[]): string {
  const i = argv.indexOf('--out');
  if (i !== -1) {
    if (!argv[i + 1]) throw new Error('--out needs a file path');
    return resolve(argv[i + 1]);
  }
  return process.env.OPENAPI_OUT ? resolve(process.env.OPENAPI_OUT) : DEFAULT_OUT;
}

if (require.main === module) {
  Promise.resolve()
    .then(async () => {
      const file = outputPath(process.argv.slice(2));
      writeFileSync(file, await generateOpenApi());
      process.stdout.write(`wrote ${file}\n`);
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
