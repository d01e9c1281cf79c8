import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  validateSync,
} from 'class-validator';
import { ipRuleProblem } from '../auth/ip-matcher';
import { maskUrlPasswords } from '../common/mask-url';
import { redisUrlProblem } from '../redis/redis-target';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : /^-?\d+$/.test(String(value)) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) => {
  if (value === undefined || value === '') return undefined;
  const v = String(value).toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no'].includes(v)) return false;
  return value;
};
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);

/** What TRUST_PROXY becomes: Fastify's `trustProxy` as a hop count or a list of proxy addresses/CIDRs. */
export type TrustProxy = false | number | string[];

const TRUST_EVERY_HOP =
  'TRUST_PROXY=true would believe every X-Forwarded-For hop, so any client could choose its own address and walk past ' +
  'IP allowlists and the failed-authentication limit. Set the number of proxies in front of Tollgate (e.g. 1) or their ' +
  'addresses/CIDRs (e.g. 10.0.0.0/8), or false';

const toTrustProxy = ({ value }: { value: unknown }): unknown => {
  if (value === undefined) return undefined;
  const v = String(value).trim();
  if (/^(false|no|0)$/i.test(v)) return false;
  if (/^\d+$/.test(v)) return Number(v);
  if (/^(true|yes)$/i.test(v)) return TRUST_EVERY_HOP;
  return v.split(',').map((part) => part.trim());
};

/** false, a hop count, or proxy addresses/CIDRs; a string is the reason the value was refused. */
function IsTrustProxy() {
  return ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (value: unknown) =>
        value === false ||
        (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 32) ||
        (Array.isArray(value) && value.length > 0 && value.every((rule) => typeof rule === 'string' && rule && !ipRuleProblem(rule))),
      defaultMessage: (args) => {
        const value = args?.value;
        if (value === TRUST_EVERY_HOP) return TRUST_EVERY_HOP;
        if (typeof value === 'number') return 'TRUST_PROXY as a hop count must be between 1 and 32';
        const bad = Array.isArray(value) ? value.find((rule) => !rule || ipRuleProblem(rule)) : undefined;
        return `TRUST_PROXY must be false, a hop count, or a comma-separated list of proxy addresses/CIDRs${
          bad !== undefined ? ` (${bad ? ipRuleProblem(bad) : 'an entry is empty'})` : ''
        }`;
      },
    },
  });
}

/** A single-server or cluster Redis URL; the message says what is wrong with it. */
function IsRedisUrl() {
  return ValidateBy({
    name: 'isRedisUrl',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && redisUrlProblem(value) === undefined,
      defaultMessage: (args) => (typeof args?.value === 'string' && redisUrlProblem(args.value)) || 'REDIS_URL must be a string',
    },
  });
}

/**
 * Every environment variable the service reads, with its default. `.env.example` mirrors this class;
 * a bad value stops start-up with one line per variable.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test']) NODE_ENV: string = 'development';
  @Transform(toInt) @IsInt() @Min(0) @Max(65535) PORT: number = 3000;
  @IsString() HOST: string = '0.0.0.0';
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL: string = 'info';

  @IsIn(['sqlite', 'mysql']) DB_TYPE: 'sqlite' | 'mysql' = 'sqlite';
  @IsString() SQLITE_PATH: string = './data/tollgate.sqlite';
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^mysql:\/\/[^/]+\/[^/?]+/, { message: 'DATABASE_URL must look like mysql://user:pass@host:3306/db' })
  DATABASE_URL?: string;
  @Transform(toInt) @IsInt() @Min(1) @Max(500) DB_POOL_SIZE: number = 10;
  /** Read replicas of DATABASE_URL (comma-separated mysql:// URLs): cache-miss key lookups and admin reads. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^mysql:\/\/[^/,]+\/[^/?,]+(\?[^,]*)?(,\s*mysql:\/\/[^/,]+\/[^/?,]+(\?[^,]*)?)*$/, {
    message: 'DATABASE_REPLICA_URLS must be a comma-separated list of mysql://user:pass@host:3306/db',
  })
  DATABASE_REPLICA_URLS?: string;
  /** A replica further behind its primary than this (Seconds_Behind_Master) is not read from. */
  @Transform(toInt) @IsInt() @Min(0) @Max(86400) DATABASE_REPLICA_MAX_LAG_SECONDS: number = 5;

  /** One Redis (`redis://host:6379`) or a Redis Cluster (`redis+cluster://host:7000,host:7001`). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;
  @IsString() REDIS_PREFIX: string = 'tollgate:';

  /** Compiled modules of your own to mount beside Tollgate's (docs/your-modules.md). */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  TOLLGATE_MODULES?: string;

  @Transform(emptyToUndefined) @IsOptional() @IsString() @MinLength(16) KEY_HASH_SECRET?: string;
  @Matches(/^[a-z][a-z0-9]{0,15}$/, { message: 'KEY_PREFIX must be 1-16 lowercase letters or digits, starting with a letter' })
  KEY_PREFIX: string = 'tg';
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9-]+$/, { message: 'API_KEY_HEADER must be a valid HTTP header name' })
  API_KEY_HEADER?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() ADMIN_API_KEY?: string;

  /** Which X-Forwarded-For hops to believe; see TrustProxy. */
  @Transform(toTrustProxy) @IsTrustProxy() TRUST_PROXY: TrustProxy = false;
  @Transform(toInt) @IsInt() @Min(1024) @Max(100 * 1024 * 1024) BODY_LIMIT_BYTES: number = 1024 * 1024;
  @Transform(toBool) @IsBoolean() DOCS_ENABLED: boolean = true;

  @Transform(toInt) @IsInt() @Min(0) @Max(3600) KEY_CACHE_TTL_SECONDS: number = 10;
  @Transform(toInt) @IsInt() @Min(0) @Max(86400) KEY_CACHE_STALE_SECONDS: number = 300;
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000) KEY_CACHE_MAX: number = 50_000;
  @Transform(toInt) @IsInt() @Min(0) @Max(3600) NEGATIVE_CACHE_TTL_SECONDS: number = 60;
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000_000) NEGATIVE_CACHE_MAX: number = 50_000;

  @Transform(toInt) @IsInt() @Min(1) AUTH_FAILURE_LIMIT: number = 30;
  @Transform(toInt) @IsInt() @Min(1) AUTH_FAILURE_WINDOW_SECONDS: number = 60;
  @Transform(toInt) @IsInt() @Min(1) DEFAULT_RATE_LIMIT: number = 1000;
  @Transform(toInt) @IsInt() @Min(1) DEFAULT_RATE_LIMIT_WINDOW_SECONDS: number = 60;
  /** Benchmarks only: time the guard chain and serve the percentiles at /v1/bench/guard-timings. */
  @Transform(toBool) @IsBoolean() BENCH_TRACE_GUARDS: boolean = false;

  @Transform(toInt) @IsInt() @Min(50) @Max(60_000) USAGE_FLUSH_INTERVAL_MS: number = 1000;
  @Transform(toInt) @IsInt() @Min(1) @Max(100_000) USAGE_FLUSH_BATCH_ROWS: number = 5000;
  @Transform(toInt) @IsInt() @Min(1000) USAGE_BUFFER_MAX_ROWS: number = 1_000_000;
  @Transform(toInt) @IsInt() @Min(1) @Max(400) USAGE_BACKFILL_DAYS: number = 35;
  /** Counts journaled before their answer leaves, replayed after a crash (docs/usage.md). */
  @Transform(toBool) @IsBoolean() JOURNAL_ENABLED: boolean = true;
  @Transform(emptyToUndefined) @IsOptional() @IsString() JOURNAL_DIR?: string;
  @Transform(toInt) @IsInt() @Min(1024 * 1024) JOURNAL_MAX_BYTES: number = 1024 * 1024 * 1024;
  @Transform(toInt) @IsInt() @Min(0) @Max(60_000) JOURNAL_FSYNC_INTERVAL_MS: number = 1000;

  @Transform(toBool) @IsBoolean() BILLING_AUTO_CLOSE: boolean = true;
  @Transform(toInt) @IsInt() @Min(0) @Max(24 * 30) BILLING_CLOSE_GRACE_HOURS: number = 1;
  @Transform(toInt) @IsInt() @Min(1) @Max(3600) BILLING_SCHEDULER_INTERVAL_SECONDS: number = 60;

  @Transform(toBool) @IsBoolean() WEBHOOK_ALLOW_PRIVATE_TARGETS: boolean = false;
  @Transform(toInt) @IsInt() @Min(100) @Max(60_000) WEBHOOK_TIMEOUT_MS: number = 10_000;
  @Transform(toInt) @IsInt() @Min(1) @Max(30) WEBHOOK_MAX_ATTEMPTS: number = 8;
  @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000) WEBHOOK_RETRY_BASE_MS: number = 15_000;
  @Transform(toInt) @IsInt() @Min(1) @Max(3600) WEBHOOK_LEASE_SECONDS: number = 60;
  @Transform(toInt) @IsInt() @Min(1) WEBHOOK_DISABLE_AFTER_SECONDS: number = 3 * 86400;
  @Transform(toInt) @IsInt() @Min(10) @Max(60_000) WEBHOOK_POLL_INTERVAL_MS: number = 250;
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) WEBHOOK_CONCURRENCY: number = 64;
  @Transform(toInt) @IsInt() @Min(1) @Max(86400) WEBHOOK_EXPIRY_SCAN_SECONDS: number = 300;
  @Transform(toInt) @IsInt() @Min(1) @Max(3650) WEBHOOK_RETENTION_DAYS: number = 30;
}

/** A variable set to an empty (or blank) value means "use the default", as if it were not set. */
function withoutEmpty(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string' && value.trim() === '') continue;
    out[name] = value;
  }
  return out;
}

export function validateEnv(given: Record<string, unknown>): EnvironmentVariables {
  const raw = withoutEmpty(given);
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false });
  if (env.DB_TYPE === 'mysql' && !env.DATABASE_URL) {
    throw new Error('Invalid configuration:\n  DATABASE_URL: required when DB_TYPE=mysql');
  }
  if (env.DB_TYPE !== 'mysql' && env.DATABASE_REPLICA_URLS) {
    throw new Error('Invalid configuration:\n  DATABASE_REPLICA_URLS: read replicas need DB_TYPE=mysql (MySQL or MariaDB); SQLite has none');
  }
  if (env.DB_TYPE === 'mysql' && !env.KEY_HASH_SECRET) {
    throw new Error('Invalid configuration:\n  KEY_HASH_SECRET: required when DB_TYPE=mysql (at least 16 characters)');
  }
  if (env.WEBHOOK_LEASE_SECONDS * 1000 <= env.WEBHOOK_TIMEOUT_MS) {
    throw new Error('Invalid configuration:\n  WEBHOOK_LEASE_SECONDS: must be longer than WEBHOOK_TIMEOUT_MS, or a slow delivery is claimed twice');
  }
  if (errors.length) {
    const lines = errors.map((e) => {
      const value = raw[e.property];
      const shown = e.property.includes('SECRET') || e.property.includes('KEY') ? '(hidden)' : maskUrlPasswords(JSON.stringify(value));
      return `  ${e.property}=${shown}: ${Object.values(e.constraints ?? {}).join('; ')}`;
    });
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}
