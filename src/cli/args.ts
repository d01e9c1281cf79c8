import type { KeyEnvironment } from '../auth/key-format';

/** Where a command writes, and reads a key from when told `--key -`. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdin(): Promise<string>;
}

/** A command line split into positionals and `--name value` / `--name=value` / `--flag` options. */
export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  options: Map<string, string | true>;
}

export class UsageError extends Error {}

/** Options that take no value. */
const FLAGS = new Set(['json', 'help']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      options.set('help', true);
    } else if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (options.has(name)) throw new UsageError(`--${name} is given twice`);
      if (FLAGS.has(name)) {
        if (eq !== -1) throw new UsageError(`--${name} takes no value`);
        options.set(name, true);
      } else if (eq !== -1) {
        options.set(name, arg.slice(eq + 1));
      } else {
        const value = argv[i + 1];
        if (value === undefined || (value.startsWith('--') && value.length > 2)) throw new UsageError(`--${name} needs a value`);
        options.set(name, value);
        i++;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { command: positionals.shift(), positionals, options };
}

/** Reads a string option, refusing options the command does not know (a typo must not be ignored). */
export class Options {
  constructor(
    private readonly args: ParsedArgs,
    known: readonly string[],
  ) {
    for (const name of args.options.keys()) {
      if (!known.includes(name) && !FLAGS.has(name)) throw new UsageError(`unknown option --${name}`);
    }
  }

  string(name: string): string | undefined {
    const v = this.args.options.get(name);
    return v === true ? undefined : v;
  }

  flag(name: string): boolean {
    return this.args.options.get(name) === true;
  }
}

export function environmentOption(opts: Options): KeyEnvironment | undefined {
  const env = opts.string('env');
  if (env !== undefined && env !== 'live' && env !== 'test') throw new UsageError('--env must be live or test');
  return env;
}
