import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KeyCache } from '../auth/key-cache';
import { Tallies, Tally } from './tally';

/**
 * Every Prometheus metric of the service, in one registry, so that each feature records into a named
 * field instead of creating metrics ad hoc.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'tollgate_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly verifications = new Counter({
    name: 'tollgate_key_verifications_total',
    help: 'Key verifications (guard and /v1/keys/verify) by result code',
    labelNames: ['code', 'source'] as const,
    registers: [this.registry],
  });

  readonly rateLimitDecisions = new Counter({
    name: 'tollgate_rate_limit_decisions_total',
    help: 'Rate limit and quota decisions',
    labelNames: ['decision', 'kind'] as const,
    registers: [this.registry],
  });

  readonly redisDegraded = new Gauge({
    name: 'tollgate_redis_degraded',
    help: '1 while Redis is unreachable and local limits are used',
    registers: [this.registry],
  });

  readonly redisOutages = new Counter({
    name: 'tollgate_redis_outages_total',
    help: 'Times the service fell back to local limits because Redis failed',
    registers: [this.registry],
  });

  readonly databaseReads = new Counter({
    name: 'tollgate_database_replica_reads_total',
    help: 'Reads that may use a replica (DATABASE_REPLICA_URLS), by where they were served: replica or primary',
    labelNames: ['target'] as const,
    registers: [this.registry],
  });

  readonly databaseReplicaUsable = new Gauge({
    name: 'tollgate_database_replica_usable',
    help: '1 while a replica answers and is within DATABASE_REPLICA_MAX_LAG_SECONDS of its primary',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  readonly databaseReplicaLag = new Gauge({
    name: 'tollgate_database_replica_lag_seconds',
    help: "A replica's Seconds_Behind_Master as last read (-1: replication not running)",
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });

  /**
   * Labelled children, looked up once per label combination: prom-client hashes the label object on
   * every call otherwise, a cost paid on every request. The combinations are bounded (route templates,
   * methods, statuses, result codes).
   */
  private readonly httpChildren = new Map<string, { requests: { inc(): void }; duration: { observe(v: number): void } }>();
  private readonly verificationTallies = new Tallies(this.verifications);
  /** Per source, per result code: no string is built to count a verification. */
  private readonly verificationsBySource = { guard: new Map<string, Tally>(), verify: new Map<string, Tally>(), authorize: new Map<string, Tally>() };

  /** Counts one answered request and its latency, labelled by route template (never the raw URL). */
  observeHttp(route: string, method: string, status: number, seconds: number): void {
    const id = `${method} ${status} ${route}`;
    let child = this.httpChildren.get(id);
    if (child === undefined) {
      const labels = { route, method, status: String(status) };
      child = { requests: this.httpRequests.labels(labels), duration: this.httpDuration.labels(labels) };
      this.httpChildren.set(id, child);
    }
    child.requests.inc();
    child.duration.observe(seconds);
  }

  /** Counts one key verification by result code, from the guard or from POST /v1/keys/verify. */
  countVerification(code: string, source: 'guard' | 'verify' | 'authorize'): void {
    const bySource = this.verificationsBySource[source];
    let tally = bySource.get(code);
    if (tally === undefined) bySource.set(code, (tally = this.verificationTallies.of(code, source)));
    tally.inc();
  }

  constructor(cache: KeyCache) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'tollgate_key_cache_hit_ratio',
      help: 'Hits / (hits + misses) of the key cache since start',
      registers: [this.registry],
      collect() {
        const total = cache.hits + cache.misses;
        this.set(total === 0 ? 0 : cache.hits / total);
      },
    });
    new Gauge({
      name: 'tollgate_key_cache_entries',
      help: 'Entries in the key cache',
      registers: [this.registry],
      collect() {
        this.set(cache.size);
      },
    });
  }
}
