/** Every event type a webhook endpoint can subscribe to. `webhook.test` is sent only by the test action. */
export const EVENT_TYPES = [
  'key.created',
  'key.rotated',
  'key.revoked',
  'key.expiring',
  'key.leaked',
  'consumer.created',
  'consumer.suspended',
  'consumer.resumed',
  'quota.threshold',
  'rate_limit.exceeded',
  'invoice.closed',
  'webhook.endpoint_disabled',
  'webhook.test',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** An event about to be written to the outbox. */
export interface OutboxEvent {
  type: EventType;
  data: Record<string, unknown>;
  /** Unique per occurrence for events that several instances may notice at once; null otherwise. */
  dedupeKey?: string | null;
  /** Only to this endpoint (the test action); otherwise to every enabled endpoint subscribed to the type. */
  endpointId?: string;
}

/** The body of every delivery: `{id, type, createdAt, data}`. */
export interface EventEnvelope {
  id: string;
  type: string;
  createdAt: string;
  data: Record<string, unknown>;
}

/** Bodies are capped; an event whose data is larger is sent with a pointer instead of its data. */
export const MAX_BODY_BYTES = 256 * 1024;

export function subscribes(events: readonly string[], type: string): boolean {
  if (type === 'webhook.test') return false;
  return events.includes('*') || events.includes(type);
}
