import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, type QueryRunner } from 'typeorm';
import { dialectOf } from './dialect';
import { retryingDeadlocks } from './retry';

/** Statements that change data or the connection's transaction state. */
const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

/**
 * Runs a unit of work in one transaction.
 *
 * better-sqlite3 has one connection: concurrent `transaction()` calls would interleave on it, and a write
 * issued outside a transaction while one is open would silently join it (and vanish with its rollback).
 * So on SQLite this is the one serialized runner: transactions are queued here, one at a time, and every
 * write issued on the connection outside them (opening billing periods from a GET route, re-hashing a key,
 * retention deletes, …) waits for its turn in the same queue instead of landing in someone's transaction.
 * Reads run at once, as before.
 *
 * How: TypeORM reaches the connection through `dataSource.createQueryRunner()` everywhere except inside a
 * transaction, which keeps the runner it started with. Outside callers get a view of the one runner whose
 * writes are queued; the queue's own transactions get the runner itself. (No AsyncLocalStorage: it would
 * tax every promise of every request.)
 *
 * On MySQL each transaction has a connection of its own; a deadlock is retried a few times, as InnoDB asks.
 */
@Injectable()
export class Transactions {
  private readonly serialize: boolean;
  private tail: Promise<unknown> = Promise.resolve();
  /** True while the queue opens one of its transactions (TypeORM asks for the runner synchronously). */
  private opening = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialize = dialectOf(dataSource).serializesTransactions;
    if (this.serialize) this.gateWrites();
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return retryingDeadlocks(() => this.dataSource.transaction(work));
    return this.enqueue(() => {
      this.opening = true;
      try {
        return this.dataSource.transaction(work);
      } finally {
        this.opening = false;
      }
    });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private gateWrites(): void {
    const ds = this.dataSource;
    const create = ds.createQueryRunner.bind(ds);
    const runner = create('master');
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    const gated = Object.create(runner) as QueryRunner;
    gated.query = ((...args: unknown[]) =>
      typeof args[0] === 'string' && WRITE.test(args[0]) ? this.enqueue(() => query(...args)) : query(...args)) as QueryRunner['query'];
    ds.createQueryRunner = ((mode?: 'master' | 'slave') => (this.opening ? create(mode) : gated)) as DataSource['createQueryRunner'];
  }
}
