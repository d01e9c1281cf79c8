import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { retryingDeadlocks } from './retry';

/**
 * Runs a unit of work in one transaction. better-sqlite3 has one connection, so concurrent
 * `transaction()` calls would interleave on it: on SQLite they are queued here, one at a time.
 * On MySQL a deadlock is retried a few times, as InnoDB asks.
 */
@Injectable()
export class Transactions {
  private readonly serialize: boolean;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type !== 'mysql';
  }

  run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return this.withRetry(work);
    const result = this.tail.then(() => this.dataSource.transaction(work));
    this.tail = result.catch(() => undefined);
    return result;
  }

  private withRetry<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return retryingDeadlocks(() => this.dataSource.transaction(work));
  }
}
