import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SYSTEM_ACTOR } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { generateKey, parseKey, startOf } from '../auth/key-format';
import { KeyHasher } from '../auth/key-hasher';
import { newId } from '../common/ids';
import { keysConfig } from '../config/settings';
import { dialectOf } from '../database/dialect';
import { Transactions } from '../database/transactions';
import { ApiKey } from './api-key.entity';

export interface BootstrapResult {
  created: boolean;
  key?: string;
  generated?: boolean;
}

/**
 * The first admin key. With an empty database it is taken from ADMIN_API_KEY or generated and printed
 * once. On MySQL the check runs under a server lock, so instances starting together create one key.
 */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly hasher: KeyHasher,
    private readonly audit: AuditService,
    @Inject(keysConfig.KEY) private readonly keys: ConfigType<typeof keysConfig>,
  ) {}

  /** What the start did about the first admin key; main prints it once the server listens. */
  outcome?: BootstrapResult;

  async onApplicationBootstrap(): Promise<void> {
    this.outcome = await this.ensureFirstAdminKey();
    if (this.outcome.created && !this.outcome.generated) this.logger.log('created the first admin key from ADMIN_API_KEY');
  }

  async ensureFirstAdminKey(): Promise<BootstrapResult> {
    const configured = this.keys.adminApiKey;
    if (configured && !parseKey(configured)) {
      throw new Error(
        'ADMIN_API_KEY is not a well-formed Tollgate key (prefix_env_random+checksum). Generate one with `npm run cli -- generate-key`.',
      );
    }
    const namedLock = dialectOf(this.dataSource).namedLock;
    const runner = namedLock ? this.dataSource.createQueryRunner() : null;
    try {
      if (runner) await namedLock!.acquire(runner, 'tollgate_bootstrap', 60);
      const key = configured ?? generateKey(this.keys.prefix, 'live').key;
      const created = await this.tx.run(async (m) => {
        // SQLite: take the database's write lock before looking, so that processes starting together on
        // one file queue here and the later ones see the first one's key. (MySQL holds a named lock above.)
        if (!namedLock) await m.query('UPDATE audit_head SET seq = seq WHERE id = 1');
        const [row] = await m.query("SELECT COUNT(*) AS n FROM api_keys WHERE kind = 'admin'");
        if (Number(row.n) > 0) return false;
        const now = new Date();
        const id = newId('key', now.getTime());
        await m.insert(ApiKey, {
          id,
          consumerId: null,
          kind: 'admin',
          name: 'bootstrap admin key',
          environment: parseKey(key)!.environment,
          start: startOf(key),
          hash: this.hasher.hash(key),
          hashVersion: this.hasher.current.version,
          scopes: ['*'],
          expiresAt: null,
          revokedAt: null,
          lastUsedAt: null,
          allowedIps: [],
          allowedOrigins: [],
          rateLimits: [],
          metadata: {},
          rotatedFromId: null,
          createdByKeyId: null,
          createdAt: now,
          updatedAt: now,
        });
        await this.audit.record(m, SYSTEM_ACTOR, { action: 'key.bootstrap', targetType: 'key', targetId: id, after: { kind: 'admin', scopes: ['*'] } });
        return true;
      });
      return created ? { created: true, key, generated: !configured } : { created: false };
    } finally {
      if (runner) {
        await namedLock!.release(runner, 'tollgate_bootstrap').catch(() => undefined);
        await runner.release();
      }
    }
  }
}
