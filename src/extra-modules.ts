import { resolve } from 'node:path';
import type { Type } from '@nestjs/common';

/** What @Module() writes on a class (it writes only the keys it is given; an empty module has nothing to mount). */
const MODULE_KEYS = ['imports', 'controllers', 'providers', 'exports'];

function isNestModule(value: unknown): value is Type {
  return typeof value === 'function' && MODULE_KEYS.some((k) => Reflect.hasOwnMetadata(k, value));
}

/**
 * The modules named by TOLLGATE_MODULES (comma-separated paths of compiled files, relative to the working
 * directory): every Nest module each file exports. A team mounts its own modules into the built server this
 * way without editing app.module.ts; one that does not load stops the start with its path and reason.
 */
export function extraModules(list = process.env.TOLLGATE_MODULES): Type[] {
  const paths = (list ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return paths.flatMap((path) => {
    let exported: Record<string, unknown>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(resolve(path)) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`TOLLGATE_MODULES: ${path} could not be loaded: ${(err as Error).message}`);
    }
    const modules = Object.values(exported).filter(isNestModule);
    if (modules.length === 0) throw new Error(`TOLLGATE_MODULES: ${path} exports no Nest module`);
    return modules;
  });
}
