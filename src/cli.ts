import 'reflect-metadata';
import { Io, ParsedArgs, parseArgs, UsageError } from './cli/args';
import { generateKeyCommand } from './cli/generate-key';
import { loadEnvironment } from './config/env-file';

const USAGE = `Tollgate operator commands. Run with: npm run -s cli -- <command> [options]
The database and secrets come from the same environment variables as the server (DB_TYPE, SQLITE_PATH,
DATABASE_URL, KEY_HASH_SECRET, REDIS_URL, KEY_PREFIX), and from .env in the working directory.

Commands:
  generate-key [--env live|test]
      Print a new, well-formed key. Touches no database; use it to set ADMIN_API_KEY.
  create-admin-key --name <name> [--scopes <a,b,...>] [--env live|test] [--expires-at <ISO-8601>]
      Create an admin key (default scope *) and print it once. Audited with no actor key.
  revoke-key <key id>
  revoke-key --key <plaintext>      (--key - reads the key from stdin, keeping it out of shell history)
      Revoke a key at once, e.g. one that leaked. The last active admin key with scope * cannot be revoked.
  import-keys <file.ndjson> [--consumer <id>] [--hash-secret <secret>]
      Import keys issued by another system, one JSON object per line (see docs/keys-import.md): the
      plaintext "key", or "hash" with "algorithm" (sha256, sha512, hmac-sha256, bcrypt). Lines name their
      "consumerId" unless --consumer names one for all; --hash-secret (- reads it from stdin) is the old
      system's HMAC secret for hmac-sha256 lines. All lines are imported, or none: a bad line is reported
      with its line number.
  migrate
      Apply pending database migrations (under the migration lock) and exit.
  help
      Show this text.

Options:
  --json    Print the result as one JSON object.

Exit status: 0 on success, 1 when the command failed, 2 on a usage error.`;

type Command = (args: ParsedArgs, io: Io) => number | Promise<number>;

// The database commands load Nest and TypeORM on demand, so that generate-key and help start quickly.
const COMMANDS: Record<string, Command> = {
  'generate-key': generateKeyCommand,
  'create-admin-key': async (args, io) => (await import('./cli/commands')).createAdminKeyCommand(args, io),
  'revoke-key': async (args, io) => (await import('./cli/commands')).revokeKeyCommand(args, io),
  'import-keys': async (args, io) => (await import('./cli/commands')).importKeysCommand(args, io),
  migrate: async (args, io) => (await import('./cli/commands')).migrateCommand(args, io),
};

const io: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export async function main(argv: string[]): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
    if (!args.command) {
      io.err(USAGE);
      return 2;
    }
    if (args.command === 'help' || args.options.get('help') === true) {
      io.out(USAGE);
      return 0;
    }
    const command = COMMANDS[args.command];
    if (!command) throw new UsageError(`unknown command "${args.command}"`);
    return await command(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  // The same .env as the server, so that the CLI finds the same database and secret.
  loadEnvironment();
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
