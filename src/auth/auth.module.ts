import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Settings } from '../config/settings';
import { CounterStoreModule } from '../rate-limit/counter-store.module';
import { RedisModule } from '../redis/redis.module';
import { AuthFailureLimiter } from './auth-failure.limiter';
import { CacheInvalidationService } from './cache-invalidation.service';
import { KeyCache } from './key-cache';
import { KeyHasher, loadOrCreateSecret } from './key-hasher';
import { KeyVerifier } from './key-verifier.service';
import { LegacyKeys } from './legacy-keys.service';
import { OriginRegistry } from './origin-registry.service';
import { RouteAccessReader } from './route-access';

type Config = ConfigService<Settings, true>;

@Global()
@Module({
  imports: [CounterStoreModule, RedisModule],
  providers: [
    {
      provide: KeyCache,
      inject: [ConfigService],
      useFactory: (config: Config) =>
new KeyCache(config.getOrThrow('keys.cache', { infer: true })),
    },
    {
      provide: KeyHasher,
      inject: [ConfigService],
      useFactory: (config: Config) =>
        KeyHasher.parse(loadOrCreateSecret(config.get('keys.hashSecret', { infer: true }), config.getOrThrow('db.sqlitePath', { infer: true }))),
    },
    KeyVerifier,
    LegacyKeys,
    CacheInvalidationService,
    OriginRegistry,
    AuthFailureLimiter,
    RouteAccessReader,
  ],
  exports: [KeyCache, KeyHasher, KeyVerifier, CacheInvalidationService, OriginRegistry, AuthFailureLimiter, RouteAccessReader],
})
export class AuthModule {}
