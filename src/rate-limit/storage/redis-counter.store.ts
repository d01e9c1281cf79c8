import { Logger } from '@nestjs/common';
import { RedisOutage } from '../../redis/redis-outage';
import { hashTagOf } from '../../redis/redis-target';
import type { RedisClient } from '../../redis/redis.service';
import type { CounterRecord, CounterStore, LimitCheck, LimitResult } from './counter-store';
import { assertValidChecks, throttlerCheck, toCounterRecord, toLimitResult } from './limit-result';
import type { MemoryCounterStore } from './memory-counter.store';

export interface RedisCounterStoreOptions {
  /** Prepended to every key, e.g. `tollgate:rl:`. */
  prefix: string;
  /**
   * Redis Cluster: a script may only touch keys of one hash slot, so the checks of one flush are sent as
   * one script call per hash tag (`{consumerId}` in every counter key of a consumer).
   */
  cluster?: boolean;
  /** Answers while Redis is unreachable, so that requests keep flowing under local limits. */
  fallback: MemoryCounterStore;
  /** Called once when an outage begins (for metrics and health). */
  onDegraded?: (err: Error) => void;
  /** Called once when Redis answers again after an outage. */
  onRecovered?: () => void;
  logger?: { warn(msg: string): void };
}

/** Name under which the script is registered on the ioredis client. */
const COMMAND = 'tollgateRateLimitHit';

/**
 * All checks of one request in one atomic call. KEYS[i] is the counter; ARGV[2i-1] its cost and ARGV[2i]
 * its window. Returns the flat list used₁, pttl₁, used₂, pttl₂, …
 *
 * The expiry is set only when the counter is new (its value equals the cost) so that later hits do not
 * push the end of the window back; a counter without a TTL (PTTL < 0, which only an outside write could
 * leave behind) gets one, so that no counter lives forever.
 */
const HIT_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local cost = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local used
  local ttl
  if cost > 0 then
    used = redis.call('INCRBY', key, cost)
    if used == cost then
      redis.call('PEXPIRE', key, window)
      ttl = window
    else
      ttl = redis.call('PTTL', key)
      if ttl < 0 then
        redis.call('PEXPIRE', key, window)
        ttl = window
      end
    end
  else
    used = tonumber(redis.call('GET', key) or '0')
    ttl = redis.call('PTTL', key)
    if ttl < 0 then
      ttl = window
    end
  end
  out[2 * i - 1] = used
  out[2 * i] = ttl
end
return out
`;

type HitCommand = (numKeys: number, ...keysThenArgs: Array<string | number>) => Promise<number[]>;
/** The same script registered with a fixed number of keys: the arguments start with the first key. */
type FixedHitCommand = (...keysThenArgs: Array<string | number>) => Promise<number[]>;

interface Pending {
  check: LimitCheck;
  resolve: (record: CounterRecord) => void;
  reject: (err: unknown) => void;
}

/**
 * Fixed-window counters shared by all instances through Redis.
 *
 * The throttler calls `increment` once per named limit. Increments made in one turn of the event loop
 * (all named limits of a request, and those of other requests decided in the same turn) are sent as ONE
 * script call on the next tick: one round trip per request, whatever the number of limits.
 *
 * Timeouts come from the client: it must be created with `enableOfflineQueue: false` (a command fails at
 * once while disconnected instead of queueing) and a `commandTimeout` (a hung server fails the command).
 * A timer of our own per call would cost every request to guard against a misconfigured client.
 *
 * While degraded, each instance enforces the limits locally, so N instances admit up to N × limit until
 * Redis is back; counters held in Redis resume where they were.
 *
 * On Redis Cluster a script may only touch keys of one hash slot: the counter keys of one consumer (or of
 * a key without one) carry its id as a hash tag, so the limits of one request stay one call, and a flush
 * that holds several consumers' requests sends one call per consumer (ioredis pipelines them per node).
 */
export class RedisCounterStore implements CounterStore {
  readonly name = 'redis';

  private readonly prefix: string;
  private readonly cluster: boolean;
  private readonly fallback: MemoryCounterStore;
  private readonly logger: { warn(msg: string): void };
  private readonly command: HitCommand;
  /** Cluster only, by number of keys. */
  private readonly fixedCommands: FixedHitCommand[] = [];
  private readonly outage: RedisOutage;
  private queue: Pending[] = [];

  constructor(
    private readonly redis: RedisClient,
    opts: RedisCounterStoreOptions,
  ) {
    this.prefix = opts.prefix;
    this.cluster = opts.cluster ?? false;
    this.fallback = opts.fallback;
    this.logger = opts.logger ?? new Logger(RedisCounterStore.name);
    this.outage = new RedisOutage({
      onDegraded: (err) => {
        this.logger.warn(
          `Redis rate limiter unavailable (${err.message}); enforcing limits locally on this instance until it answers again`,
        );
        opts.onDegraded?.(err);
      },
      onRecovered: opts.onRecovered,
      onCallbackError: (err) => this.logger.warn(`Rate limiter state callback failed: ${err.message}`),
    });
    // defineCommand sends EVALSHA and, on NOSCRIPT (e.g. after a Redis restart), EVAL by itself.
    redis.defineCommand(COMMAND, { lua: HIT_SCRIPT });
    this.command = (redis as unknown as Record<string, HitCommand>)[COMMAND];
  }

  get degraded(): boolean {
    return this.outage.degraded;
  }

  increment(key: string, ttl: number, limit: number, _blockDuration?: number, _throttlerName?: string): Promise<CounterRecord> {
    return this.enqueue(key, ttl, limit, 1);
  }

  peek(key: string, ttl: number, limit: number): Promise<CounterRecord> {
    return this.enqueue(key, ttl, limit, 0);
  }

  private enqueue(key: string, ttl: number, limit: number, cost: 0 | 1): Promise<CounterRecord> {
    let check: LimitCheck;
    try {
      check = throttlerCheck(key, ttl, limit, cost);
    } catch (err) {
      return Promise.reject(err);
    }
    // While degraded and no probe is due, answer at once from the fallback, without a tick's wait.
    if (this.outage.degraded && this.queue.length === 0 && !this.outage.probeDue()) {
      return Promise.resolve(this.fallback.incrementSync(key, ttl, limit, cost));
    }
    return new Promise<CounterRecord>((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(this.flush);
      this.queue.push({ check, resolve, reject });
    });
  }

  private readonly flush = (): void => {
    const batch = this.queue;
    this.queue = [];
    const checks = new Array<LimitCheck>(batch.length);
    for (let i = 0; i < batch.length; i++) checks[i] = batch[i].check;
    this.hit(checks).then(
      (results) => {
        for (let i = 0; i < batch.length; i++) batch[i].resolve(toCounterRecord(results[i], checks[i].cost));
      },
      (err) => {
        for (const p of batch) p.reject(err);
      },
    );
  };

  async hit(checks: LimitCheck[]): Promise<LimitResult[]> {
    assertValidChecks(checks);
    if (checks.length === 0) return [];
    if (!this.outage.shouldTry()) return this.fallback.hitSync(checks);
    const epoch = this.outage.epoch;
    let reply: number[];
    try {
      reply = await this.send(checks);
    } catch (err) {
      this.outage.failed(epoch, err as Error);
      return this.fallback.hitSync(checks);
    }
    this.outage.succeeded(epoch);
    const results = new Array<LimitResult>(checks.length);
    for (let i = 0; i < checks.length; i++) {
      results[i] = toLimitResult(checks[i], Number(reply[2 * i]), Number(reply[2 * i + 1]));
    }
    return results;
  }

  private send(checks: readonly LimitCheck[]): Promise<number[]> {
    return this.cluster ? this.sendBySlot(checks) : this.sendOne(checks);
  }

  /** One call per hash tag, in parallel; the replies put back in the order of the checks. */
  private async sendBySlot(checks: readonly LimitCheck[]): Promise<number[]> {
    const groups = new Map<string, number[]>();
    for (let i = 0; i < checks.length; i++) {
      const tag = hashTagOf(this.prefix + checks[i].key);
      const group = groups.get(tag);
      if (group) group.push(i);
      else groups.set(tag, [i]);
    }
    if (groups.size === 1) return this.sendOne(checks);
    const out = new Array<number>(checks.length * 2);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const reply = await this.sendOne(indexes.map((i) => checks[i]));
        for (let j = 0; j < indexes.length; j++) {
          out[2 * indexes[j]] = reply[2 * j];
          out[2 * indexes[j] + 1] = reply[2 * j + 1];
        }
      }),
    );
    return out;
  }

  private sendOne(checks: readonly LimitCheck[]): Promise<number[]> {
    const args = new Array<string | number>(checks.length * 3);
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i];
      args[i] = this.prefix + check.key;
      args[checks.length + 2 * i] = check.cost;
      args[checks.length + 2 * i + 1] = check.windowMs;
    }
    if (this.cluster) return this.fixedCommand(checks.length).call(this.redis, ...args);
    return this.command.call(this.redis, checks.length, ...args);
  }

  /**
   * On a cluster, ioredis may route a script with a variable number of keys by its first argument, which is
   * that number, not a key (redis/ioredis#2109): the script is registered once per key count instead, so
   * that the first argument is the first key.
   */
  private fixedCommand(keys: number): FixedHitCommand {
    let command = this.fixedCommands[keys];
    if (!command) {
      const name = `${COMMAND}${keys}`;
      this.redis.defineCommand(name, { numberOfKeys: keys, lua: HIT_SCRIPT });
      command = this.fixedCommands[keys] = (this.redis as unknown as Record<string, FixedHitCommand>)[name];
    }
    return command;
  }
}
