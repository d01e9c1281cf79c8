import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/env.validation';
import { CounterStoreModule } from '../rate-limit/counter-store.module';
import { RedisModule } from '../redis/redis.module';
import { ApiKeyGuard } from './api-key.guard';
import { AuthFailureLimiter } from './auth-failure.limiter';
import { CacheInvalidationService } from './cache-invalidation.service';
import { KeyCache } from './key-cache';
import { KeyHasher, loadOrCreateSecret } from './key-hasher';
import { KeyVerifier } from './key-verifier.service';
import { OriginRegistry } from './origin-registry.service';
import { RouteAccessReader } from './route-access';
import { ScopesGuard } from './scopes.guard';

type Config = ConfigService<EnvironmentVariables, true>;

@Global()
@Module({
  imports: [CounterStoreModule, RedisModule],
  providers: [
    {
      provide: KeyCache,
      inject: [ConfigService],
      useFactory: (config: Config) =>
        new KeyCache({
          ttlMs: config.get('KEY_CACHE_TTL_SECONDS', { infer: true }) * 1000,
          staleMs: config.get('KEY_CACHE_STALE_SECONDS', { infer: true }) * 1000,
          max: config.get('KEY_CACHE_MAX', { infer: true }),
          negativeTtlMs: config.get('NEGATIVE_CACHE_TTL_SECONDS', { infer: true }) * 1000,
          negativeMax: config.get('NEGATIVE_CACHE_MAX', { infer: true }),
        }),
    },
    {
      provide: KeyHasher,
      inject: [ConfigService],
      useFactory: (config: Config) =>
        KeyHasher.parse(loadOrCreateSecret(config.get('KEY_HASH_SECRET', { infer: true }), config.get('SQLITE_PATH', { infer: true }))),
    },
    KeyVerifier,
    CacheInvalidationService,
    OriginRegistry,
    AuthFailureLimiter,
    RouteAccessReader,
    ApiKeyGuard,
    ScopesGuard,
  ],
  exports: [KeyCache, KeyHasher, KeyVerifier, CacheInvalidationService, OriginRegistry, AuthFailureLimiter, ApiKeyGuard, ScopesGuard],
})
export class AuthModule {}
