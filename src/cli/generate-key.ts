import { generateKey } from '../auth/key-format';
import { validateEnv } from '../config/env.validation';
import { keysSettings } from '../config/settings';
import { environmentOption, Io, Options, ParsedArgs, UsageError } from './args';

/** Kept apart from the other commands so that it loads no database code: it is used before there is one. */
export function generateKeyCommand(args: ParsedArgs, io: Io): number {
  const opts = new Options(args, ['env']);
  if (args.positionals.length) throw new UsageError(`generate-key takes no arguments`);
  // Only the prefix matters here; the rest of the configuration may not even exist yet.
  const keys = keysSettings(validateEnv({ KEY_PREFIX: process.env.KEY_PREFIX }));
  const { key, start } = generateKey(keys.prefix, environmentOption(opts) ?? 'live');
  io.out(opts.flag('json') ? JSON.stringify({ key, start }) : key);
  return 0;
}
