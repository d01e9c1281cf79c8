import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Reads `.env` from the working directory into `env`, then removes every variable set to an empty value.
 * Variables already set in the real environment win over the file, so a deployment can override one value
 * without editing it. An empty value means "use the default" (`.env.example` lists `ADMIN_API_KEY=`),
 * and it is removed rather than validated away because configuration readers fall back to the process
 * environment for a setting they find unset. Must run before the application module is loaded: its
 * configuration is read when the module is imported. Returns the path of the file read, if any.
 */
export function loadEnvironment(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  const path = resolve(cwd, '.env');
  const found = existsSync(path);
  if (found) {
    for (const [name, value] of Object.entries(parseEnv(readFileSync(path, 'utf8')))) {
      if (env[name] === undefined) env[name] = value;
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string' && value.trim() === '') delete env[name];
  }
  return found ? path : undefined;
}
