import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

/** The buffered writer's metrics (usage, key outcomes, hot-path alerts, webhook attempt outcomes), in the service's one registry. */
@Injectable()
export class WriterMetrics {
  readonly rowsWaiting: Gauge;
  readonly journalBytes: Gauge;
  readonly lag: Gauge;
  readonly flushDuration: Histogram;
  readonly writtenRows: Counter;
  readonly failures: Counter;
  readonly replays: Counter<'result'>;
  readonly dropped: Counter;
  readonly unjournaled: Counter;
  readonly compactions: Counter;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.rowsWaiting = new Gauge({ name: 'tollgate_writer_rows_waiting', help: 'Rows (usage counters, key outcome counters, alerts, webhook attempt outcomes) waiting in memory to be written', registers });
    this.journalBytes = new Gauge({ name: 'tollgate_writer_journal_bytes', help: 'Bytes of journal segments on disk not yet written to the database', registers });
    this.lag = new Gauge({ name: 'tollgate_writer_lag_seconds', help: 'Age of the oldest record not yet written to the database', registers });
    this.flushDuration = new Histogram({
      name: 'tollgate_writer_flush_duration_seconds',
      help: 'Duration of the transaction writing one segment',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.writtenRows = new Counter({ name: 'tollgate_writer_written_rows_total', help: 'Rows written to the database', registers });
    this.failures = new Counter({ name: 'tollgate_writer_failures_total', help: 'Segment writes that failed and will be retried', registers });
    this.replays = new Counter({
      name: 'tollgate_writer_replays_total',
      help: 'Journal segments of stopped instances replayed (written: applied now; already_written: their transaction had committed before the crash)',
      labelNames: ['result'],
      registers,
    });
    this.dropped = new Counter({ name: 'tollgate_writer_dropped_total', help: 'Counts dropped at the memory bound (USAGE_BUFFER_MAX_ROWS) while the database was down', registers });
    this.unjournaled = new Counter({
      name: 'tollgate_writer_unjournaled_total',
      help: 'Records kept in memory only because the journal was at JOURNAL_MAX_BYTES or not writable (lost if the process dies before they are written)',
      registers,
    });
    this.compactions = new Counter({ name: 'tollgate_writer_compactions_total', help: 'Journal segments rewritten as their totals', registers });
  }
}
