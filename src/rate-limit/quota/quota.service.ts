import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { AuthConsumer, AuthKey, QuotaRule } from '../../auth/auth-key';
import { periodFor } from '../../periods/periods';
import { RedisOutage } from '../../redis/redis-outage';
import type { RedisClient } from '../../redis/redis.service';
import { LimiterMetrics } from '../limiter-metrics';
import { LimiterRedis } from '../limiter-redis';
import { QuotaUsageReader } from './quota-usage.reader';

/** A plan quota as it stands in the current billing period. */
export interface QuotaState {
  metric: string;
  limit: number;
  used: number;
  remaining: number;
  /** End of the billing period (ISO-8601), when the quota starts again from 0. */
  periodEnd: string;
}

export interface QuotaDecision {
  /** For a consumption: it was admitted (and counted). For a peek: one more unit would be admitted. */
  allowed: boolean;
  /** Null when the plan sets no quota on the metric (then nothing is counted). */
  quota: QuotaState | null;
  /** Seconds until the period ends; meaningful when refused. */
  retryAfter: number;
}

/** A consumption of a plan quota that was admitted: what was used before it and after it. */
export interface QuotaConsumption {
  consumerId: string;
  /** The key whose request consumed the units. */
  keyId: string;
  rule: QuotaRule;
  metric: string;
  limit: number;
  before: number;
  after: number;
  /** The billing period the units count in, `[periodStart, periodEnd)`, ISO-8601. */
  periodStart: string;
  periodEnd: string;
}

export type QuotaListener = (consumption: QuotaConsumption) => void;

/** Epoch milliseconds; injectable so that tests can move time across a period end. */
export const QUOTA_CLOCK = Symbol('QUOTA_CLOCK');

/** The answer for a key whose plan sets no quota on the metric. */
export const UNLIMITED: QuotaDecision = Object.freeze({ allowed: true, quota: null, retryAfter: 0 });

/** Redis counters outlive their period by a day, for late answers and clocks that disagree a little. */
const EXPIRY_MARGIN_MS = 86_400_000;
/** After a failed seed read (database down), the read is tried again at most this often. */
const SEED_RETRY_MS = 1_000;
/** Local counters held; beyond it counters of ended periods go first, then the oldest. */
const MAX_COUNTERS = 200_000;
const SWEEP_INTERVAL_MS = 60_000;

interface PeriodMs {
  startMs: number;
  endMs: number;
  endIso: string;
}

/** This instance's view of one consumer × metric × period. */
interface Counter {
  used: number;
  /** `used` holds a seed or an answer from Redis, not only what was counted here since a failed seed. */
  known: boolean;
  seeding: Promise<void> | null;
  retryAt: number;
  /** Units admitted here while Redis was unreachable; added to the shared counter once it answers. */
  unsynced: number;
  endMs: number;
}

/**
 * One atomic step on a shared quota counter. KEYS[1] the counter; ARGV: cost, limit, extra (units admitted
 * elsewhere while Redis was away, added unconditionally; negative for units given back, never below 0), seed (-1: none), expireAt (epoch ms).
 * Returns {admitted 1|0, used}, or {-1, 0} when the counter does not exist and no seed was given.
 * A refused consumption is not counted: the request it belongs to is not served (and not metered).
 * A new counter is seeded with what the seed already covers, so `extra` is not added to it.
 */
const QUOTA_SCRIPT = `
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local extra = tonumber(ARGV[3])
local v = redis.call('GET', KEYS[1])
local used
if v then
  used = tonumber(v)
  if extra ~= 0 then
    used = redis.call('INCRBY', KEYS[1], extra)
    if used < 0 then used = redis.call('INCRBY', KEYS[1], -used) end
  end
else
  local seed = tonumber(ARGV[4])
  if seed < 0 then return {-1, 0} end
  used = seed
  redis.call('SET', KEYS[1], seed, 'PXAT', ARGV[5])
end
if cost == 0 then
  if used + 1 <= limit then return {1, used} end
  return {0, used}
end
if used + cost <= limit then
  return {1, redis.call('INCRBY', KEYS[1], cost)}
end
return {0, used}
`;

const COMMAND = 'tollgateQuota';
type QuotaCommand = (key: string, cost: number, limit: number, extra: number, seed: number, expireAt: number) => Promise<[number, number]>;

/** The plan's quota on `metric`, if any. Plans hold a handful of quotas: a scan beats any index. */
export function quotaRule(key: AuthKey, metric: string): QuotaRule | undefined {
  const quotas = key.consumer?.plan?.quotas;
  if (!quotas) return undefined;
  for (const q of quotas) if (q.metric === metric && Number.isSafeInteger(q.limit) && q.limit >= 0) return q;
  return undefined;
}

/**
 * Plan quotas per billing period (hard caps, e.g. 100 000 `requests` a month).
 *
 * Without Redis the counters live in this process; with Redis they are shared by all instances (one
 * script call per consumption). Either way a counter is seeded, the first time it is used, from the usage
 * recorded in the database for the period, so that it survives restarts; a new period is a new counter.
 * Seeding reads roll-ups, which trail the live count by at most one usage flush.
 *
 * If Redis is unreachable, each instance goes on from the last value it saw (or a database seed) and adds
 * what it admitted meanwhile to the shared counter once Redis answers. If the database cannot be read for
 * a seed, the request is admitted and counted locally, and the seed is tried again: failing open here
 * keeps cached keys working through a database outage, and the seed, once read, includes those requests.
 */
@Injectable()
export class QuotaService {
  private readonly logger = new Logger(QuotaService.name);
  private readonly counters = new Map<string, Counter>();
  private readonly periods = new WeakMap<AuthConsumer, PeriodMs>();
  private readonly redis: RedisClient | null;
  private readonly command: QuotaCommand | null = null;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly outage: RedisOutage;
  private readonly listeners: QuotaListener[] = [];
  private nextSweepAt = 0;

  constructor(
    private readonly reader: QuotaUsageReader,
    redis: LimiterRedis,
    private readonly metrics: LimiterMetrics,
    @Optional() @Inject(QUOTA_CLOCK) clock?: () => number,
  ) {
    this.now = clock ?? Date.now;
    this.outage = new RedisOutage({
      now: this.now,
      onDegraded: (err) => {
        this.logger.warn(`Redis quota counters unavailable (${err.message}); counting quotas locally on this instance until it answers again`);
        this.metrics.degraded('quota');
      },
      onRecovered: () => this.metrics.recovered('quota'),
    });
    this.redis = redis.client;
    this.prefix = `${redis.prefix}quota:`;
    if (this.redis) {
      this.redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: QUOTA_SCRIPT });
      this.command = (this.redis as unknown as Record<string, QuotaCommand>)[COMMAND];
    }
  }

  hasQuota(key: AuthKey, metric: string): boolean {
    return quotaRule(key, metric) !== undefined;
  }

  /** Consumes `cost` units of the plan's quota on `metric`; refused (and not counted) if they do not fit. */
  async consume(key: AuthKey, metric: string, cost: number): Promise<QuotaDecision> {
    if (!Number.isSafeInteger(cost) || cost < 0) throw new RangeError(`cost must be an integer ≥ 0, got ${cost}`);
    const rule = quotaRule(key, metric);
    if (!rule || !key.consumer) return UNLIMITED;
    const decision = await this.apply(key.consumer, rule, cost);
    if (cost > 0) {
      (decision.allowed ? this.metrics.quotaAllowed : this.metrics.quotaLimited).inc();
      if (decision.allowed && this.listeners.length > 0) this.notify(key, rule, decision.quota!, cost);
    }
    return decision;
  }

  /**
   * Registers a listener for every admitted consumption, with the amount used before and after it: a
   * threshold of p % is crossed when before < p % of limit ≤ after (e.g. to notify the consumer).
   */
  onConsumed(listener: QuotaListener): void {
    this.listeners.push(listener);
  }

  private notify(key: AuthKey, rule: QuotaRule, quota: QuotaState, cost: number): void {
    const consumer = key.consumer!;
    const period = this.periodOf(consumer, this.now());
    const consumption: QuotaConsumption = {
      consumerId: consumer.id,
      keyId: key.id,
      rule,
      metric: rule.metric,
      limit: rule.limit,
      before: quota.used - cost,
      after: quota.used,
      periodStart: new Date(period.startMs).toISOString(),
      periodEnd: quota.periodEnd,
    };
    for (const listener of this.listeners) {
      try {
        listener(consumption);
      } catch (err) {
        this.logger.warn(`quota listener failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Gives back units taken by consume() for work that was not done after all (a transaction that rolled
   * back, an event another request stored first), so that a retry is charged once. Never below 0.
   */
  async refund(key: AuthKey, metric: string, units: number): Promise<void> {
    if (!Number.isSafeInteger(units) || units <= 0) return;
    const rule = quotaRule(key, metric);
    const consumer = key.consumer;
    if (!rule || !consumer) return;
    const now = this.now();
    const period = this.periodOf(consumer, now);
    const id = `${consumer.id}:${rule.metric}:${period.startMs}`;
    const counter = this.counters.get(id);
    if (counter) counter.used = Math.max(0, counter.used - units);
    if (this.redisUsable()) {
      const epoch = this.outage.epoch;
      try {
        const reply = await this.command!.call(this.redis, this.prefix + id, 0, rule.limit, -units, -1, period.endMs + EXPIRY_MARGIN_MS);
        this.outage.succeeded(epoch);
        if (counter && reply[0] !== -1) counter.used = Number(reply[1]);
        return;
      } catch (err) {
        this.outage.failed(epoch, err as Error);
      }
    }
    // Handed to the shared counter with the units admitted locally, once Redis answers.
    if (this.redis && counter) counter.unsynced -= units;
  }

  /** The quota on `metric` as it stands, without consuming. */
  peek(key: AuthKey, metric: string): Promise<QuotaDecision> {
    return this.consume(key, metric, 0);
  }

  /** Every quota of the key's plan, as it stands. */
  async peekAll(key: AuthKey): Promise<QuotaState[]> {
    const consumer = key.consumer;
    const quotas = consumer?.plan?.quotas ?? [];
    const out: QuotaState[] = [];
    for (const q of quotas) {
      const rule = quotaRule(key, q.metric);
      if (rule !== q || !consumer) continue;
      const d = await this.apply(consumer, rule, 0);
      if (d.quota) out.push(d.quota);
    }
    return out;
  }

  private async apply(consumer: AuthConsumer, rule: QuotaRule, cost: number): Promise<QuotaDecision> {
    const now = this.now();
    const period = this.periodOf(consumer, now);
    const id = `${consumer.id}:${rule.metric}:${period.startMs}`;
    const counter = this.counterFor(id, period.endMs, now);
    let verdict = this.redisUsable() ? await this.viaRedis(id, counter, consumer.id, rule, cost, period) : null;
    verdict ??= await this.locally(counter, consumer.id, rule, cost, period, now);
    const [allowed, used] = verdict;
    return {
      allowed,
      quota: { metric: rule.metric, limit: rule.limit, used, remaining: Math.max(0, rule.limit - used), periodEnd: period.endIso },
      retryAfter: Math.max(1, Math.ceil((period.endMs - now) / 1000)),
    };
  }

  private async locally(
    counter: Counter,
    consumerId: string,
    rule: QuotaRule,
    cost: number,
    period: PeriodMs,
    now: number,
  ): Promise<[boolean, number]> {
    if (!counter.known) await this.seed(counter, consumerId, rule.metric, period, now);
    const used = counter.used;
    if (cost === 0) return [used + 1 <= rule.limit, used];
    if (used + cost > rule.limit) return [false, used];
    counter.used += cost;
    if (this.redis) counter.unsynced += cost;
    return [true, counter.used];
  }

  /** Returns null when Redis could not be used, so that the caller answers locally. */
  private async viaRedis(
    id: string,
    counter: Counter,
    consumerId: string,
    rule: QuotaRule,
    cost: number,
    period: PeriodMs,
  ): Promise<[boolean, number] | null> {
    const key = this.prefix + id;
    const expireAt = period.endMs + EXPIRY_MARGIN_MS;
    const epoch = this.outage.epoch;
    // Taken before the call so that concurrent calls do not add the same units twice.
    const extra = counter.unsynced;
    counter.unsynced = 0;
    let reply: [number, number];
    try {
      reply = await this.command!.call(this.redis, key, cost, rule.limit, extra, -1, expireAt);
      if (reply[0] === -1) {
        // First use in this period, or Redis lost the counter: seed it from the database, or from what
        // this instance last saw if that is more.
        let seed: number;
        try {
          seed = Math.max(counter.used, await this.reader.used(consumerId, rule.metric, period.startMs, period.endMs));
        } catch (err) {
          counter.unsynced += extra;
          this.logger.warn(`quota of ${consumerId}/${rule.metric} not seeded (${(err as Error).message}); counting locally`);
          return null;
        }
        reply = await this.command!.call(this.redis, key, cost, rule.limit, 0, seed, expireAt);
      }
    } catch (err) {
      counter.unsynced += extra;
      this.outage.failed(epoch, err as Error);
      return null;
    }
    this.outage.succeeded(epoch);
    const used = Number(reply[1]);
    if (used > counter.used || !counter.known) counter.used = used;
    counter.known = true;
    return [reply[0] === 1, used];
  }

  /** Reads the period's recorded usage once; concurrent callers share the read. */
  private seed(counter: Counter, consumerId: string, metric: string, period: PeriodMs, now: number): Promise<void> {
    if (counter.seeding) return counter.seeding;
    if (now < counter.retryAt) return Promise.resolve();
    counter.seeding = this.reader
      .used(consumerId, metric, period.startMs, period.endMs)
      .then(
        (used) => {
          // What was admitted here while the database was unreachable is in the roll-ups by now or soon.
          counter.used = Math.max(counter.used, used);
          counter.known = true;
        },
        (err: Error) => {
          counter.retryAt = this.now() + SEED_RETRY_MS;
          this.logger.warn(`quota of ${consumerId}/${metric} not seeded (${err.message}); admitting and counting locally`);
        },
      )
      .finally(() => {
        counter.seeding = null;
      });
    return counter.seeding;
  }

  private counterFor(id: string, endMs: number, now: number): Counter {
    let counter = this.counters.get(id);
    if (counter === undefined) {
      if (now >= this.nextSweepAt || this.counters.size >= MAX_COUNTERS) this.sweep(now);
      counter = { used: 0, known: false, seeding: null, retryAt: 0, unsynced: 0, endMs };
      this.counters.set(id, counter);
    }
    return counter;
  }

  /** Drops counters of ended periods, then the oldest if still full. Runs only when a counter is created. */
  private sweep(now: number): void {
    this.nextSweepAt = now + SWEEP_INTERVAL_MS;
    for (const [id, c] of this.counters) if (c.endMs <= now) this.counters.delete(id);
    while (this.counters.size >= MAX_COUNTERS) this.counters.delete(this.counters.keys().next().value as string);
  }

  private periodOf(consumer: AuthConsumer, now: number): PeriodMs {
    let p = this.periods.get(consumer);
    if (p === undefined || now >= p.endMs || now < p.startMs) {
      const period = periodFor(consumer.billingAnchorDay, new Date(consumer.createdAt), new Date(now));
      p = { startMs: period.start.getTime(), endMs: period.end.getTime(), endIso: period.end.toISOString() };
      this.periods.set(consumer, p);
    }
    return p;
  }

  private redisUsable(): boolean {
    return this.command !== null && this.outage.shouldTry();
  }
}
