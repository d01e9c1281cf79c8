import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { registerAs } from '@nestjs/config';
import { EnvironmentVariables, TrustProxy, validateEnv } from './env.validation';

/*
 * Typed, named settings, one namespace per area. The environment is validated in one place
 * (EnvironmentVariables, at boot, one line per bad value); each namespace only maps the validated
 * variables to settings with units in their names. The mapping functions are exported for code that runs
 * outside the Nest container (main, the app factory, the CLI, ormconfig.ts).
 *
 * Secrets (KEY_HASH_SECRET, ADMIN_API_KEY) have no default value: an unset hash secret is required with
 * DB_TYPE=mysql and generated once (kept under ./data) on the embedded database, and an unset admin key
 * makes the first start generate one and show it once.
 */

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface AppSettings {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  logLevel: string;
  /** false, a hop count or proxy addresses/CIDRs: never "every hop". */
  trustProxy: TrustProxy;
  bodyLimitBytes: number;
  docsEnabled: boolean;
}
export const appSettings = (env: EnvironmentVariables): AppSettings => ({
  env: env.NODE_ENV as AppSettings['env'],
  port: env.PORT,
  host: env.HOST,
  logLevel: env.LOG_LEVEL,
  trustProxy: env.TRUST_PROXY,
  bodyLimitBytes: env.BODY_LIMIT_BYTES,
  docsEnabled: env.DOCS_ENABLED,
});

export interface DatabaseSettings {
  type: 'sqlite' | 'mysql';
  sqlitePath: string;
  /** Set (and required) when type is mysql. */
  url?: string;
  poolSize: number;
  /** Read replicas (mysql only); empty when none. */
  replicaUrls: string[];
  replicaMaxLagMs: number;
}
export const databaseSettings = (env: EnvironmentVariables): DatabaseSettings => ({
  type: env.DB_TYPE,
  sqlitePath: env.SQLITE_PATH,
  url: env.DATABASE_URL,
  poolSize: env.DB_POOL_SIZE,
  replicaUrls: (env.DATABASE_REPLICA_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean),
  replicaMaxLagMs: env.DATABASE_REPLICA_MAX_LAG_SECONDS * SECOND,
});

export interface RedisSettings {
  /** Unset: one instance, with in-process limits and cache. */
  url?: string;
  prefix: string;
}
export const redisSettings = (env: EnvironmentVariables): RedisSettings => ({ url: env.REDIS_URL, prefix: env.REDIS_PREFIX });

export interface KeysSettings {
  prefix: string;
  /** A header accepted besides X-API-Key and Authorization: Bearer. */
  header?: string;
  hashSecret?: string;
  adminApiKey?: string;
  cache: { ttlMs: number; staleMs: number; max: number; negativeTtlMs: number; negativeMax: number };
}
export const keysSettings = (env: EnvironmentVariables): KeysSettings => ({
  prefix: env.KEY_PREFIX,
  header: env.API_KEY_HEADER,
  hashSecret: env.KEY_HASH_SECRET,
  adminApiKey: env.ADMIN_API_KEY,
  cache: {
    ttlMs: env.KEY_CACHE_TTL_SECONDS * SECOND,
    staleMs: env.KEY_CACHE_STALE_SECONDS * SECOND,
    max: env.KEY_CACHE_MAX,
    negativeTtlMs: env.NEGATIVE_CACHE_TTL_SECONDS * SECOND,
    negativeMax: env.NEGATIVE_CACHE_MAX,
  },
});

export interface LimitsSettings {
  /** For keys without limits of their own. */
  defaultRate: { limit: number; windowMs: number };
  /** Failed authentications per client address. */
  authFailures: { limit: number; windowMs: number };
}
export const limitsSettings = (env: EnvironmentVariables): LimitsSettings => ({
  defaultRate: { limit: env.DEFAULT_RATE_LIMIT, windowMs: env.DEFAULT_RATE_LIMIT_WINDOW_SECONDS * SECOND },
  authFailures: { limit: env.AUTH_FAILURE_LIMIT, windowMs: env.AUTH_FAILURE_WINDOW_SECONDS * SECOND },
});

export interface UsageSettings {
  flushIntervalMs: number;
  flushBatchRows: number;
  bufferMaxRows: number;
  /** How far back usage can be reported. */
  backfillDays: number;
  journal: JournalSettings;
}

export interface JournalSettings {
  enabled: boolean;
  /** Shared by the instances of one database only. */
  dir: string;
  maxBytes: number;
  /** 0: never fsync (a killed process loses nothing, a power loss may lose what the kernel had not written). */
  fsyncIntervalMs: number;
}

/**
 * The journal directory: next to the SQLite file, or for MySQL one per database under ./data/journal, so
 * that instances sharing it replay only into the database their counts belong to.
 */
export function journalDir(env: EnvironmentVariables): string {
  if (env.JOURNAL_DIR) return env.JOURNAL_DIR;
  if (env.DB_TYPE === 'sqlite') return join(dirname(env.SQLITE_PATH), 'journal');
  const url = new URL(env.DATABASE_URL!);
  const tag = createHash('sha256').update(`${url.hostname}:${url.port || 3306}${url.pathname}`).digest('hex').slice(0, 12);
  return join('data', 'journal', tag);
}
export const usageSettings = (env: EnvironmentVariables): UsageSettings => ({
  flushIntervalMs: env.USAGE_FLUSH_INTERVAL_MS,
  flushBatchRows: env.USAGE_FLUSH_BATCH_ROWS,
  bufferMaxRows: env.USAGE_BUFFER_MAX_ROWS,
  backfillDays: env.USAGE_BACKFILL_DAYS,
  journal: {
    enabled: env.JOURNAL_ENABLED,
    dir: journalDir(env),
    maxBytes: env.JOURNAL_MAX_BYTES,
    fsyncIntervalMs: env.JOURNAL_FSYNC_INTERVAL_MS,
  },
});

export interface BillingSettings {
  autoClose: boolean;
  closeGraceMs: number;
  schedulerIntervalMs: number;
}
export const billingSettings = (env: EnvironmentVariables): BillingSettings => ({
  autoClose: env.BILLING_AUTO_CLOSE,
  closeGraceMs: env.BILLING_CLOSE_GRACE_HOURS * HOUR,
  schedulerIntervalMs: env.BILLING_SCHEDULER_INTERVAL_SECONDS * SECOND,
});

export interface WebhooksSettings {
  allowPrivateTargets: boolean;
  timeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  leaseMs: number;
  disableAfterMs: number;
  pollIntervalMs: number;
  concurrency: number;
  expiryScanIntervalMs: number;
  retentionMs: number;
}
export const webhooksSettings = (env: EnvironmentVariables): WebhooksSettings => ({
  allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
  timeoutMs: env.WEBHOOK_TIMEOUT_MS,
  maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
  retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
  leaseMs: env.WEBHOOK_LEASE_SECONDS * SECOND,
  disableAfterMs: env.WEBHOOK_DISABLE_AFTER_SECONDS * SECOND,
  pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS,
  concurrency: env.WEBHOOK_CONCURRENCY,
  expiryScanIntervalMs: env.WEBHOOK_EXPIRY_SCAN_SECONDS * SECOND,
  retentionMs: env.WEBHOOK_RETENTION_DAYS * DAY,
});

// ConfigModule validates the environment before these run (and stops start-up with the reasons); they
// read the same environment again, so they can also be called directly outside the container.
const fromEnv = <T>(map: (env: EnvironmentVariables) => T) => (): T => map(validateEnv(process.env));

export const appConfig = registerAs('app', fromEnv(appSettings));
export const databaseConfig = registerAs('db', fromEnv(databaseSettings));
export const redisConfig = registerAs('redis', fromEnv(redisSettings));
export const keysConfig = registerAs('keys', fromEnv(keysSettings));
export const limitsConfig = registerAs('limits', fromEnv(limitsSettings));
export const usageConfig = registerAs('usage', fromEnv(usageSettings));
export const billingConfig = registerAs('billing', fromEnv(billingSettings));
export const webhooksConfig = registerAs('webhooks', fromEnv(webhooksSettings));

/** Every namespace, for `ConfigModule.forRoot({ load })`. */
export const configNamespaces = [
  appConfig,
  databaseConfig,
  redisConfig,
  keysConfig,
  limitsConfig,
  usageConfig,
  billingConfig,
  webhooksConfig,
];

/** The whole configuration, for `ConfigService<Settings, true>` and `getOrThrow('db.type', { infer: true })`. */
export interface Settings {
  app: AppSettings;
  db: DatabaseSettings;
  redis: RedisSettings;
  keys: KeysSettings;
  limits: LimitsSettings;
  usage: UsageSettings;
  billing: BillingSettings;
  webhooks: WebhooksSettings;
}

/** Options shared by the service's and the CLI's ConfigModule. */
export const configModuleOptions = {
  isGlobal: true,
  // .env is read by loadEnvironment (which also drops empty values) before the module is loaded.
  ignoreEnvFile: true,
  validate: validateEnv,
  load: configNamespaces,
  cache: true,
};
