import { AsyncLocalStorage } from 'node:async_hooks';
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
 * On MySQL each transaction has a connection of its own; a deadlock is retried a few times, as InnoDB asks.
 */
@Injectable()
export class Transactions {
  private readonly serialize: boolean;
  private tail: Promise<unknown> = Promise.resolve();
  /** Set while the queue runs a unit of work: its statements are the transaction's own. */
  private readonly inQueue = new AsyncLocalStorage<true>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialize = dialectOf(dataSource).serializesTransactions;
    if (this.serialize) this.gateWrites(dataSource.driver.createQueryRunner('master'));
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return retryingDeadlocks(() => this.dataSource.transaction(work));
    return this.enqueue(() => this.dataSource.transaction(work));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(() => this.inQueue.run(true, work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** The driver's one query runner: writes from outside the queue are queued. */
  private gateWrites(runner: QueryRunner): void {
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    runner.query = ((...args: unknown[]) => {
      if (this.inQueue.getStore() === true || typeof args[0] !== 'string' || !WRITE.test(args[0])) return query(...args);
      return this.enqueue(() => query(...args));
    }) as QueryRunner['query'];
  }
}
