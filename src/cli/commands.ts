import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import pino from 'pino';
import { DataSource, In } from 'typeorm';
import { Actor } from '../audit/actor';
import type { AuthKey } from '../auth/auth-key';
import { parseKey } from '../auth/key-format';
import { KeyHasher } from '../auth/key-hasher';
import { AppException } from '../common/app.exception';
import { PinoNestLogger } from '../common/logger';
import { databaseConfig } from '../config/settings';
import { dataSourceOptions } from '../database/data-source-options';
import { runMigrationsLocked } from '../database/migrate';
import { ApiKey } from '../keys/api-key.entity';
import { ApiKeysService } from '../keys/api-keys.service';
import { ApiKeyDto } from '../keys/dto/api-key.dto';
import { CreateKeyDto } from '../keys/dto/create-key.dto';
import { KeyImportService } from '../keys/key-import.service';
import { LeakedKeysService } from '../keys/leaked-keys.service';
import { RedisService } from '../redis/redis.service';
import { environmentOption, Io, Options, ParsedArgs, UsageError } from './args';
import { CliModule } from './cli.module';
import { loadImportFile, parseImportArgs, printProblems, readImportFile } from './import-keys';

/** Changes made here are audited with no actor key; the request id says where they came from. */
function cliActor(command: string): Actor {
  return { keyId: null, consumerId: null, scopes: ['*'], ip: null, requestId: `cli:${command}` };
}

/** The operator at the console holds every scope; escalation checks compare against this. */
const CONSOLE_KEY: AuthKey = {
  id: 'cli',
  kind: 'admin',
  name: 'command line',
  environment: 'live',
  scopes: ['*'],
  expiresAt: null,
  revokedAt: null,
  ipMatcher: null,
  allowedOrigins: null,
  rateLimits: [],
  consumer: null,
};

export async function migrateCommand(args: ParsedArgs, io: Io): Promise<number> {
  const opts = new Options(args, []);
  if (args.positionals.length) throw new UsageError('migrate takes no arguments');
  const dataSource = await new DataSource(dataSourceOptions(databaseConfig())).initialize();
  try {
    const applied = await runMigrationsLocked(dataSource);
    if (opts.flag('json')) io.out(JSON.stringify({ applied }));
    else io.out(applied.length ? `applied: ${applied.join(', ')}` : 'the schema is up to date');
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

export async function createAdminKeyCommand(args: ParsedArgs, io: Io): Promise<number> {
  const opts = new Options(args, ['name', 'scopes', 'env', 'expires-at']);
  if (args.positionals.length) throw new UsageError('create-admin-key takes options only');
  const name = opts.string('name');
  if (!name) throw new UsageError('create-admin-key needs --name');
  const scopes = (opts.string('scopes') ?? '*').split(',').map((s) => s.trim()).filter(Boolean);
  const dto = plainToInstance(CreateKeyDto, {
    kind: 'admin',
    name,
    scopes,
    environment: environmentOption(opts),
    expiresAt: opts.string('expires-at'),
  });
  const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length) {
    throw new UsageError(errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`).join('\n'));
  }
  return withContext(io, async (app) => {
    const created = await app.get(ApiKeysService).create(CONSOLE_KEY, cliActor('create-admin-key'), null, dto);
    if (opts.flag('json')) {
      io.out(JSON.stringify(created));
    } else {
      io.out(
        [
          `Created admin key ${created.id} "${created.name}" with scopes ${created.scopes.join(', ')}.`,
          'The key is shown only this once; store it now:',
          '',
          `  ${created.key}`,
        ].join('\n'),
      );
    }
    return 0;
  });
}

export async function revokeKeyCommand(args: ParsedArgs, io: Io): Promise<number> {
  const opts = new Options(args, ['key']);
  let plaintext = opts.string('key');
  const id = args.positionals[0];
  if ((id === undefined) === (plaintext === undefined) || args.positionals.length > 1) {
    throw new UsageError('revoke-key needs either a key id or --key <plaintext> (--key - reads it from stdin)');
  }
  if (plaintext === '-') plaintext = (await io.stdin()).trim();
  return withContext(io, async (app) => {
    const startedAt = Date.now();
    let key: ApiKeyDto;
    if (plaintext !== undefined) {
      if (!parseKey(plaintext)) {
        io.err('error: that is not a well-formed key (wrong shape or checksum); nothing was revoked');
        return 1;
      }
      const hashes = app.get(KeyHasher).candidates(plaintext).map((c) => c.hash);
      const row = await app.get(DataSource).getRepository(ApiKey).findOne({ where: { hash: In(hashes) }, select: { id: true } });
      if (!row) {
        io.err('error: no key in this database matches (check DB settings and KEY_HASH_SECRET); nothing was revoked');
        return 1;
      }
      // A key known by its plaintext is treated as leaked: audited as such, and key.leaked is sent.
      key = (await app.get(LeakedKeysService).report(cliActor('revoke-key'), plaintext, 'cli')).key;
    } else {
      key = await app.get(ApiKeysService).revoke(null, cliActor('revoke-key'), 'any', id!);
    }
    const already = key.revokedAt !== null && new Date(key.revokedAt).getTime() < startedAt;
    if (opts.flag('json')) io.out(JSON.stringify({ ...key, alreadyRevoked: already }));
    else io.out(already ? `Key ${key.id} "${key.name}" was already revoked at ${key.revokedAt}.` : `Revoked key ${key.id} "${key.name}" at ${key.revokedAt}.`);
    return 0;
  });
}

export async function importKeysCommand(args: ParsedArgs, io: Io): Promise<number> {
  const { file, consumer, hashSecret, json } = await parseImportArgs(args, io);
  const startedAt = Date.now();
  // Every line is read and checked before the database is opened: a bad file writes nothing.
  const { entries, problems } = await readImportFile(await loadImportFile(file), consumer);
  if (problems.length) {
    printProblems(io, problems);
    return 1;
  }
  return withContext(io, async (app) => {
    const keys = await app.get(KeyImportService).import(CONSOLE_KEY, cliActor('import-keys'), entries, hashSecret);
    const consumers = new Set(keys.map((k) => k.consumerId)).size;
    const ms = Date.now() - startedAt;
    if (json) io.out(JSON.stringify({ imported: keys.length, consumers, ms }));
    else io.out(`Imported ${keys.length} key(s) for ${consumers} consumer(s) in ${ms} ms.`);
    return 0;
  });
}

/**
 * Boots the CLI module (migrations run first, as at server start), waits briefly for Redis so that cache
 * invalidations are published, runs `work`, and closes everything.
 */
async function withContext(io: Io, work: (app: INestApplicationContext) => Promise<number>): Promise<number> {
  const logger = pino({ level: 'warn', base: { service: 'tollgate-cli' } }, pino.destination(2));
  const app = await NestFactory.createApplicationContext(CliModule, { logger: new PinoNestLogger(logger), abortOnError: false });
  try {
    const redis = app.get(RedisService);
    if (redis.client && !(await ready(redis))) {
      io.err('warning: Redis is unreachable; running instances drop the key from their caches within KEY_CACHE_TTL_SECONDS');
    }
    return await work(app);
  } catch (err) {
    if (err instanceof AppException) {
      const details = err.extra.details?.map((d) => `\n  ${d.field}: ${d.message}`).join('') ?? '';
      io.err(`error: ${err.code}: ${err.message}${details}`);
      return 1;
    }
    throw err;
  } finally {
    await app.close();
  }
}

function ready(redis: RedisService, timeoutMs = 2000): Promise<boolean> {
  const client = redis.client!;
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once('ready', onReady);
  });
}
