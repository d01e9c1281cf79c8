import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { CounterStore, LimitCheck, LimitResult } from './counter-store';
import { assertValidChecks, toLimitResult } from './limit-result';
import type { MemoryCounterStore } from './memory-counter.store';

export interface RedisCounterStoreOptions {
  /** Prepended to every key, e.g. `tollgate:rl:`. */
  prefix: string;
  /** Answers while Redis is unreachable, so that requests keep flowing under local limits. */
  fallback: MemoryCounterStore;
  /** Called once when an outage begins (for metrics and health). */
  onDegraded?: (err: Error) => void;
  /** Called once when Redis answers again after an outage. */
  onRecovered?: () => void;
  logger?: { warn(msg: string): void };
}

/** While degraded, Redis is tried at most this often; every other call goes straight to the fallback. */
const PROBE_INTERVAL_MS = 1_000;

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

/**
 * Fixed-window counters shared by all instances through Redis: one script call (one round trip) per
 * request, whatever the number of named limits.
 *
 * Timeouts come from the client: it must be created with `enableOfflineQueue: false` (a command fails at
 * once while disconnected instead of queueing) and a `commandTimeout` (a hung server fails the command).
 * A timer of our own per call would cost every request to guard against a misconfigured client.
 *
 * While degraded, each instance enforces the limits locally, so N instances admit up to N × limit until
 * Redis is back; counters held in Redis resume where they were.
 *
 * On Redis Cluster a script may only touch keys of one hash slot: callers would then put a hash tag
 * (`{consumerId}`) in the keys of one request. A single Redis or a replicated primary needs nothing.
 */
export class RedisCounterStore implements CounterStore {
  readonly name = 'redis';

  private readonly prefix: string;
  private readonly fallback: MemoryCounterStore;
  private readonly onDegraded?: (err: Error) => void;
  private readonly onRecovered?: () => void;
  private readonly logger: { warn(msg: string): void };
  private readonly command: HitCommand;
  private isDegraded = false;
  private nextProbeAt = 0;
  /**
   * Bumped on every change between healthy and degraded. A call changes the state only if none happened
   * since it started, so that a slow answer from before an outage (or a late failure from before a
   * recovery) cannot flip the state back and fire the callbacks twice.
   */
  private epoch = 0;

  constructor(
    private readonly redis: Redis,
    opts: RedisCounterStoreOptions,
  ) {
    this.prefix = opts.prefix;
    this.fallback = opts.fallback;
    this.onDegraded = opts.onDegraded;
    this.onRecovered = opts.onRecovered;
    this.logger = opts.logger ?? new Logger(RedisCounterStore.name);
    // defineCommand sends EVALSHA and, on NOSCRIPT (e.g. after a Redis restart), EVAL by itself.
    redis.defineCommand(COMMAND, { lua: HIT_SCRIPT });
    this.command = (redis as unknown as Record<string, HitCommand>)[COMMAND];
  }

  get degraded(): boolean {
    return this.isDegraded;
  }

  async hit(checks: LimitCheck[]): Promise<LimitResult[]> {
    assertValidChecks(checks);
    if (checks.length === 0) return [];
    if (this.isDegraded) {
      const now = Date.now();
      if (now < this.nextProbeAt) return this.fallback.hitSync(checks);
      // Claimed before the await so that calls arriving during the probe do not probe too.
      this.nextProbeAt = now + PROBE_INTERVAL_MS;
    }
    const epoch = this.epoch;
    let reply: number[];
    try {
      reply = await this.send(checks);
    } catch (err) {
      if (!this.isDegraded && epoch === this.epoch) this.enterDegraded(err);
      return this.fallback.hitSync(checks);
    }
    if (this.isDegraded && epoch === this.epoch) this.leaveDegraded();
    const results = new Array<LimitResult>(checks.length);
    for (let i = 0; i < checks.length; i++) {
      results[i] = toLimitResult(checks[i], Number(reply[2 * i]), Number(reply[2 * i + 1]));
    }
    return results;
  }

  private send(checks: readonly LimitCheck[]): Promise<number[]> {
    const args = new Array<string | number>(checks.length * 3);
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i];
      args[i] = this.prefix + check.key;
      args[checks.length + 2 * i] = check.cost;
      args[checks.length + 2 * i + 1] = check.windowMs;
    }
    return this.command.call(this.redis, checks.length, ...args);
  }

  private enterDegraded(err: Error): void {
    this.isDegraded = true;
    this.epoch++;
    this.nextProbeAt = Date.now() + PROBE_INTERVAL_MS;
    this.logger.warn(
      `Redis rate limiter unavailable (${err.message}); enforcing limits locally on this instance until it answers again`,
    );
    this.notify(() => this.onDegraded?.(err));
  }

  private leaveDegraded(): void {
    this.isDegraded = false;
    this.epoch++;
    this.notify(() => this.onRecovered?.());
  }

  /** A failing observer (metrics, health) must not fail the request that happened to change the state. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.logger.warn(`Rate limiter state callback failed: ${(err as Error).message}`);
    }
  }
}
