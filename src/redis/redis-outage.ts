/** While Redis is unreachable it is tried at most this often; every other call answers locally. */
export const PROBE_INTERVAL_MS = 1_000;

export interface RedisOutageOptions {
  /** Called once when an outage begins, with the error that revealed it. */
  onDegraded?: (err: Error) => void;
  /** Called once when Redis answers again after an outage. */
  onRecovered?: () => void;
  /** Reports a failing callback; defaults to nothing. */
  onCallbackError?: (err: Error) => void;
  /** Epoch milliseconds; injectable so that tests can move time. */
  now?: () => number;
}

/**
 * Whether a component that falls back to local state should try Redis now: the one "degraded / probe"
 * state machine of the counter stores and the quota counters.
 *
 * Healthy: every call tries Redis. A failure makes it degraded; then one call per PROBE_INTERVAL_MS tries
 * Redis (claimed before it awaits, so that concurrent calls do not probe too) and the others answer
 * locally at once. The first success makes it healthy again.
 *
 * Every change of state bumps an epoch. A call reports its outcome with the epoch it started under, and
 * changes the state only if nothing changed since, so that a slow answer from before an outage (or a late
 * failure from before a recovery) cannot flip the state back and fire the callbacks twice.
 */
export class RedisOutage {
  private down = false;
  private nextProbeAt = 0;
  private epochValue = 0;
  private readonly now: () => number;

  constructor(private readonly opts: RedisOutageOptions = {}) {
    this.now = opts.now ?? (() => Date.now());
  }

  get degraded(): boolean {
    return this.down;
  }

  /** The epoch to hand back to failed()/succeeded(). */
  get epoch(): number {
    return this.epochValue;
  }

  /** While degraded: whether a probe is due (without claiming it). */
  probeDue(): boolean {
    return this.now() >= this.nextProbeAt;
  }

  /** True when Redis should be tried by this call (healthy, or this call is the probe). */
  shouldTry(): boolean {
    if (!this.down) return true;
    const now = this.now();
    if (now < this.nextProbeAt) return false;
    this.nextProbeAt = now + PROBE_INTERVAL_MS;
    return true;
  }

  failed(epoch: number, err: Error): void {
    if (this.down || epoch !== this.epochValue) return;
    this.down = true;
    this.epochValue++;
    this.nextProbeAt = this.now() + PROBE_INTERVAL_MS;
    this.notify(() => this.opts.onDegraded?.(err));
  }

  succeeded(epoch: number): void {
    if (!this.down || epoch !== this.epochValue) return;
    this.down = false;
    this.epochValue++;
    this.notify(() => this.opts.onRecovered?.());
  }

  /** A failing observer (metrics, logs) must not fail the request that happened to change the state. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.opts.onCallbackError?.(err as Error);
    }
  }
}
