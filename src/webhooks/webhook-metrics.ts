import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';

export type DeliveryOutcome = 'success' | 'http_error' | 'network_error';

/** Webhook delivery metrics, in the service's one registry. */
@Injectable()
export class WebhookMetrics {
  readonly attempts: Counter<'outcome'>;
  readonly duration: Histogram<'outcome'>;
  readonly lag: Histogram;
  readonly inFlight: Gauge;
  readonly disabled: Counter;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.attempts = new Counter({
      name: 'tollgate_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (success: a 2xx; http_error: another status; network_error: no answer)',
      labelNames: ['outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'tollgate_webhook_delivery_duration_seconds',
      help: 'Duration of webhook delivery attempts by outcome',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.lag = new Histogram({
      name: 'tollgate_webhook_first_attempt_lag_seconds',
      help: 'From the event being written to its first delivery attempt',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.inFlight = new Gauge({ name: 'tollgate_webhook_deliveries_in_flight', help: 'Webhook deliveries being attempted now', registers });
    this.disabled = new Counter({
      name: 'tollgate_webhook_endpoints_disabled_total',
      help: 'Endpoints disabled after failing continuously',
      registers,
    });
  }

  /** Labelled children looked up once per outcome: prom-client hashes a label object on every call otherwise. */
  private readonly children = new Map<DeliveryOutcome, { attempts: { inc(): void }; duration: { observe(v: number): void } }>();

  observe(outcome: DeliveryOutcome, ms: number): void {
    let child = this.children.get(outcome);
    if (child === undefined) {
      child = { attempts: this.attempts.labels({ outcome }), duration: this.duration.labels({ outcome }) };
      this.children.set(outcome, child);
    }
    child.attempts.inc();
    child.duration.observe(ms / 1000);
  }
}
