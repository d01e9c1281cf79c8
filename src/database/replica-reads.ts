import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import type { DataSource, EntityManager } from 'typeorm';
import { databaseConfig } from '../config/settings';
import { MetricsService } from '../metrics/metrics.service';

/** How often each replica's lag is read. */
const CHECK_INTERVAL_MS = 1_000;

interface Replica {
  /** The node's name in TypeORM's pool cluster (`SLAVE0`, …). */
  id: string;
  url: string;
  host: string;
  usable: boolean;
  monitor: Connection | null;
  warned: boolean;
}

/**
 * Reads that may be served by a replica (DATABASE_REPLICA_URLS): `read(work)` runs `work` on a healthy
 * replica when there is one, else on the primary. A replica is healthy while it answers and its
 * Seconds_Behind_Master, read every second, is known and within DATABASE_REPLICA_MAX_LAG_SECONDS; an
 * unhealthy one leaves TypeORM's pool cluster until it is healthy again. A read that fails on a replica is
 * run again on the primary (a read is safe to repeat), so a replica dying between two checks costs one
 * slower answer, never an error.
 *
 * Only for reads that need not see the caller's own writes: after a create or an update, inside a
 * transaction, and wherever money is computed, read from the primary (the data source itself).
 */
@Injectable()
export class ReplicaReads implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly replicas: Replica[];
  private readonly maxLagMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(databaseConfig.KEY) db: ConfigType<typeof databaseConfig>,
    private readonly metrics: MetricsService,
  ) {
    this.maxLagMs = db.replicaMaxLagMs;
    this.replicas = (db.type === 'mysql' ? db.replicaUrls : []).map((url, i) => ({
      id: `SLAVE${i}`,
      url,
      host: new URL(url).host,
      usable: true,
      monitor: null,
      warned: false,
    }));
  }

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    await this.check();
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.replicas.map((r) => r.monitor?.end().catch(() => undefined)));
  }

  /** Runs read-only `work` on a healthy replica, or on the primary when none is. */
  async read<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.replicas.some((r) => r.usable)) return this.onPrimary(work);
    const runner = this.dataSource.createQueryRunner('slave');
    try {
      const result = await work(runner.manager);
      this.metrics.databaseReads.inc({ target: 'replica' });
      return result;
    } catch (err) {
      const node = (runner as unknown as { databaseConnection?: { _clusterId?: string } }).databaseConnection?._clusterId;
      const replica = this.replicas.find((r) => r.id === node);
      if (replica || isConnectionError(err)) {
        if (replica) this.setUsable(replica, false, (err as Error).message);
        return this.onPrimary(work);
      }
      throw err;
    } finally {
      await runner.release();
    }
  }

  private async onPrimary<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const result = await work(this.dataSource.manager);
    this.metrics.databaseReads.inc({ target: 'primary' });
    return result;
  }

  private async check(): Promise<void> {
    await Promise.all(this.replicas.map((r) => this.checkOne(r)));
  }

  private async checkOne(replica: Replica): Promise<void> {
    let lagMs: number | null;
    try {
      if (!replica.monitor) {
        const monitor = await createConnection({ uri: replica.url, connectTimeout: 1000 });
        // A connection that drops while idle reports it as an event; the next check reconnects.
        monitor.on('error', () => {
          if (replica.monitor === monitor) replica.monitor = null;
        });
        replica.monitor = monitor;
      }
      lagMs = await replicationLagMs(replica.monitor);
    } catch (err) {
      await replica.monitor?.end().catch(() => undefined);
      replica.monitor = null;
      const message = (err as Error).message;
      if (/denied/i.test(message) && !replica.warned) {
        replica.warned = true;
        this.logger.warn(`replica ${replica.host}: its lag cannot be read (${message}); grant REPLICA MONITOR (MariaDB) or REPLICATION CLIENT (MySQL) to read from it`);
      }
      this.setUsable(replica, false, message);
      return;
    }
    this.metrics.databaseReplicaLag.set({ replica: replica.host }, lagMs === null ? -1 : lagMs / 1000);
    if (lagMs === null) this.setUsable(replica, false, 'replication is not running (Seconds_Behind_Master is NULL)');
    else if (lagMs > this.maxLagMs) this.setUsable(replica, false, `${lagMs / 1000} s behind the primary`);
    else this.setUsable(replica, true);
  }

  private setUsable(replica: Replica, usable: boolean, why?: string): void {
    this.metrics.databaseReplicaUsable.set({ replica: replica.host }, usable ? 1 : 0);
    if (replica.usable === usable) return;
    replica.usable = usable;
    // Taken out of (or put back into) the pool cluster's choice of `SLAVE*` as mysql2 does after failed
    // connections (restoreNodeTimeout): removing the node instead would end its pool, which throws.
    const cluster = (this.dataSource.driver as unknown as { poolCluster?: PoolClusterLike }).poolCluster;
    const node = cluster?._nodes?.[replica.id];
    if (node) node._offlineUntil = usable ? 0 : Number.MAX_SAFE_INTEGER;
    if (usable) this.logger.log(`replica ${replica.host} serves reads again`);
    else this.logger.warn(`replica ${replica.host} not used for reads: ${why}`);
  }
}

/** The part of mysql2's PoolCluster used here. */
interface PoolClusterLike {
  _nodes?: Record<string, { _offlineUntil: number }>;
}

/** Milliseconds behind the primary; null when replication is stopped; 0 for a server that is not a replica. */
async function replicationLagMs(conn: Connection): Promise<number | null> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>('SHOW REPLICA STATUS');
  } catch {
    // Before MariaDB 10.5.1 and MySQL 8.0.22.
    [rows] = await conn.query<RowDataPacket[]>('SHOW SLAVE STATUS');
  }
  if (rows.length === 0) return 0;
  const seconds = rows[0].Seconds_Behind_Master ?? rows[0].Seconds_Behind_Source;
  return seconds === null || seconds === undefined ? null : Number(seconds) * 1000;
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string; driverError?: { code?: string } }).code ?? (err as { driverError?: { code?: string } }).driverError?.code;
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|PROTOCOL_CONNECTION_LOST|POOL_NOEXIST|POOL_NONEONLINE|ER_CON_COUNT_ERROR)$/.test(code ?? '');
}
