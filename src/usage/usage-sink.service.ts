import { Injectable } from '@nestjs/common';
import { Transactions } from '../database/transactions';
import { UsageBatch, writeUsageBatch } from './usage-batch';

/** Where the recorder's batches go: one transaction per batch (serialized on SQLite, deadlocks retried on MySQL). */
@Injectable()
export class UsageSink {
  constructor(private readonly tx: Transactions) {}

  /** Resolves false when the batch had already been applied by an earlier attempt. */
  write(batch: UsageBatch): Promise<boolean> {
    return this.tx.run((m) => writeUsageBatch(m, batch));
  }
}
