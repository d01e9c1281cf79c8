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
 * Every SQLite transaction takes the database's write lock when it begins (see beginImmediately), so that
 * another process writing at the same time (the CLI, a second instance on the same file) makes it wait
 * up to the busy timeout rather than fail half-way.
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
    beginImmediately(runner);
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    const gated = Object.create(runner) as QueryRunner;
    gated.query = ((...args: unknown[]) =>
      typeof args[0] === 'string' && WRITE.test(args[0]) ? this.enqueue(() => query(...args)) : query(...args)) as QueryRunner['query'];
    ds.createQueryRunner = ((mode?: 'master' | 'slave') => (this.opening ? create(mode) : gated)) as DataSource['createQueryRunner'];
  }
}

/** The statement TypeORM's SQLite query runners open a (non-nested) transaction with. */
const DEFERRED_BEGIN = 'BEGIN TRANSACTION';

/**
 * Makes the SQLite runner's transactions begin with `BEGIN IMMEDIATE`. TypeORM begins them deferred: the
 * write lock is then taken at the first write, and a transaction that has read before it cannot wait for
 * a lock another connection holds (SQLite answers SQLITE_BUSY at once, without its busy handler). Taken at
 * BEGIN, the lock is waited for like any single write, up to the connection's busy timeout (the `timeout`
 * of the data source options); after that the BUSY error answers 503 as before. better-sqlite3 waits
 * synchronously, as it does for every write that meets the lock.
 *
 * A BEGIN that fails leaves TypeORM's runner believing a transaction is open; it is told otherwise.
 */
function beginImmediately(runner: QueryRunner): void {
  // Plain functions, not arrows: the gated view of the runner (Object.create(runner)) calls them with itself as `this`.
  const query = runner.query as (this: QueryRunner, sql: string, ...rest: unknown[]) => Promise<unknown>;
  runner.query = function (this: QueryRunner, sql: string, ...rest: unknown[]) {
    return query.call(this, sql === DEFERRED_BEGIN ? 'BEGIN IMMEDIATE TRANSACTION' : sql, ...rest);
  } as QueryRunner['query'];
  const start = runner.startTransaction;
  runner.startTransaction = async function (this: QueryRunner, ...args: Parameters<QueryRunner['startTransaction']>) {
    const outer = !this.isTransactionActive;
    try {
      await start.apply(this, args);
    } catch (err) {
      if (outer) (this as { isTransactionActive: boolean }).isTransactionActive = false;
      throw err;
    }
  };
}
