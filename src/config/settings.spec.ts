import { Inject, Injectable } from '@nestjs/common';
import { ConfigModule, ConfigService, ConfigType } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { validateEnv } from './env.validation';
import {
  appSettings,
  billingSettings,
  configModuleOptions,
  databaseSettings,
  keysSettings,
  limitsSettings,
  redisSettings,
  Settings,
  usageSettings,
  webhooksConfig,
  webhooksSettings,
} from './settings';

const mappers = [appSettings, databaseSettings, redisSettings, keysSettings, limitsSettings, usageSettings, billingSettings, webhooksSettings];

@Injectable()
class NeedsWebhooks {
  constructor(@Inject(webhooksConfig.KEY) readonly webhooks: ConfigType<typeof webhooksConfig>) {}
}

/** Boots ConfigModule as the service does, on the given environment instead of the process's. */
async function boot(env: Record<string, string>) {
  const saved = process.env;
  process.env = { ...env };
  try {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(configModuleOptions)],
      providers: [NeedsWebhooks],
    }).compile();
    return { config: moduleRef.get<ConfigService<Settings, true>>(ConfigService), webhooks: moduleRef.get(NeedsWebhooks).webhooks };
  } finally {
    process.env = saved;
  }
}

describe('configuration namespaces', () => {
  it('map every validated variable to a setting', () => {
    const read = new Set<string>();
    const env = new Proxy(validateEnv({}), {
      get(target, name, receiver) {
        read.add(String(name));
        return Reflect.get(target, name, receiver);
      },
    });
    for (const map of mappers) map(env);
    // BENCH_TRACE_GUARDS decides which guards exist and TOLLGATE_MODULES which modules, so both are read when
    // modules are defined, before the container.
    const beforeContainer = new Set(['BENCH_TRACE_GUARDS', 'TOLLGATE_MODULES']);
    const unread = Object.keys(validateEnv({})).filter((name) => !read.has(name) && !beforeContainer.has(name));
    expect(unread).toEqual([]);
  });

  it('name their units and convert to them', () => {
    const env = validateEnv({
      WEBHOOK_LEASE_SECONDS: '90',
      WEBHOOK_RETENTION_DAYS: '2',
      BILLING_CLOSE_GRACE_HOURS: '3',
      KEY_CACHE_TTL_SECONDS: '5',
      AUTH_FAILURE_WINDOW_SECONDS: '30',
      DEFAULT_RATE_LIMIT_WINDOW_SECONDS: '10',
    });
    expect(webhooksSettings(env)).toMatchObject({ leaseMs: 90_000, retentionMs: 2 * 86_400_000 });
    expect(billingSettings(env).closeGraceMs).toBe(3 * 3_600_000);
    expect(keysSettings(env).cache.ttlMs).toBe(5000);
    expect(limitsSettings(env)).toEqual({ defaultRate: { limit: 1000, windowMs: 10_000 }, authFailures: { limit: 30, windowMs: 30_000 } });
  });

  it('are read by path or injected, with empty values meaning the default', async () => {
    const { config, webhooks } = await boot({ PORT: '', DB_TYPE: 'sqlite', SQLITE_PATH: ':memory:', WEBHOOK_CONCURRENCY: '8' });
    expect(config.getOrThrow('app.port', { infer: true })).toBe(3000);
    expect(config.getOrThrow('db.sqlitePath', { infer: true })).toBe(':memory:');
    expect(config.get('keys.hashSecret', { infer: true })).toBeUndefined();
    expect(webhooks.concurrency).toBe(8);
  });

  it('stop start-up with one line per bad value, hiding passwords and secrets', async () => {
    await expect(
      boot({ PORT: 'abc', DB_TYPE: 'mysql', DATABASE_URL: 'mysql:/root:hunter2@host/db', KEY_HASH_SECRET: 'x'.repeat(32) }),
    ).rejects.toThrow(/Invalid configuration:\n {2}PORT="abc": .*\n {2}DATABASE_URL="mysql:\/root:\*\*\*@host\/db"/);
    await expect(boot({ DB_TYPE: 'mysql', DATABASE_URL: 'mysql://root@h:3306/db' })).rejects.toThrow(/KEY_HASH_SECRET: required/);
  });
});
