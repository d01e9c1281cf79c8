import type { Counter } from 'prom-client';

/** What a labelled prom-client counter child offers. */
interface CounterChild {
  inc(value?: number): void;
}

/**
 * A count kept in a plain number on the request path and handed to its Prometheus child when the metric
 * is read: prom-client hashes the labels on every inc(), even on a labelled child.
 */
export class Tally {
  private n = 0;

  constructor(private readonly child: CounterChild) {}

  inc(): void {
    this.n++;
  }

  flush(): void {
    if (this.n === 0) return;
    this.child.inc(this.n);
    this.n = 0;
  }
}

/** The tallies of one counter, flushed into it whenever prom-client reads it (a scrape, or get() in a test). */
export class Tallies<L extends string> {
  private readonly all: Tally[] = [];

  constructor(private readonly counter: Counter<L>) {
    const collectable = counter as unknown as { collect?: () => unknown };
    const previous = collectable.collect;
    const all = this.all;
    collectable.collect = function (this: unknown) {
      for (const t of all) t.flush();
      return previous?.call(this);
    };
  }

  /** A new tally for one label set; keep it, each call makes another. */
  of(...labels: string[]): Tally {
    const t = new Tally((this.counter.labels as (...v: string[]) => CounterChild)(...labels));
    this.all.push(t);
    return t;
  }
}
