import type { EntityManager } from 'typeorm';

/**
 * One kind of buffered count the writer carries (usage rows, key outcomes, hot-path alerts, webhook attempt
 * outcomes). Its records are journal lines starting with `tag` and a tab; `A` is what one segment of them
 * adds up to in memory. `add` must be deterministic: a segment replayed from its journal lines must add up
 * to what the live segment held.
 */
export interface WriterPart<A> {
  /** One character, unique among parts; not `#`. */
  readonly tag: string;
  /** Written after the other parts in the segment's transaction (rows that every instance adds to, whose locks should be held briefly). */
  readonly writtenLast?: boolean;
  create(): A;
  /** Adds one journal line (without its tag and tab); returns how many rows it added (0 when it merged). */
  replay(agg: A, line: string): number;
  /** The aggregate as journal lines (each ending in a newline): what a compacted segment holds. */
  dump(agg: A): string;
  isEmpty(agg: A): boolean;
  /** Writes the aggregate inside the segment's transaction. */
  write(m: EntityManager, agg: A): Promise<void>;
  /** After the segment's transaction committed. */
  committed?(agg: A): void;
}
