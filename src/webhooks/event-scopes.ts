import { grants } from '../auth/scopes';

/**
 * The read scope that sees the data of an event, by the event type's resource (the part before the dot).
 * Data reached through a webhook keeps the scope of its own routes: subscribing an endpoint to an event
 * type, or reading an event's `data` in the delivery log, needs this scope besides webhooks:read|write.
 * `webhook.*` events describe endpoints, which webhooks:read already shows.
 */
const READ_SCOPE_BY_RESOURCE: Record<string, string | null> = {
  consumer: 'consumers:read',
  key: 'keys:read',
  invoice: 'billing:read',
  credits: 'billing:read',
  quota: 'usage:read',
  rate_limit: 'usage:read',
  spend: 'usage:read',
  webhook: null,
};

/** Every scope some event type needs: what subscribing to `*` (all types, those added later too) needs. */
export const ALL_EVENT_READ_SCOPES = [...new Set(Object.values(READ_SCOPE_BY_RESOURCE).filter((s): s is string => s !== null))];

/** The scope that reads an event type's data; null when none is needed. An unmapped resource needs `*`. */
export function readScopeOf(eventType: string): string | null {
  const dot = eventType.indexOf('.');
  const resource = dot === -1 ? eventType : eventType.slice(0, dot);
  const scope = READ_SCOPE_BY_RESOURCE[resource];
  return scope === undefined ? '*' : scope;
}

/** The scopes `held` lacks to subscribe to `events` (event types, or `*`), in a stable order. */
export function missingToSubscribe(held: readonly string[], events: readonly string[]): string[] {
  const needed = new Set<string>();
  for (const type of events) {
    for (const scope of type === '*' ? ALL_EVENT_READ_SCOPES : [readScopeOf(type)]) if (scope) needed.add(scope);
  }
  return [...needed].filter((scope) => !grants(held, scope)).sort();
}

/** The event types (or `*`) that `after` subscribes to and `before` did not. */
export function addedEvents(before: readonly string[], after: readonly string[]): string[] {
  if (before.includes('*')) return [];
  return after.filter((type) => !before.includes(type));
}

export function canReadEventData(held: readonly string[], eventType: string): boolean {
  const scope = readScopeOf(eventType);
  return scope === null || grants(held, scope);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields of event data that hold the ids of the resources an event is about (never other values). */
const ID_FIELDS = ['keyId', 'consumerId', 'endpointId', 'periodId'] as const;
const NESTED_RESOURCES = ['key', 'newKey', 'consumer', 'invoice', 'endpoint'] as const;

/**
 * The ids of the resources an event is about — its key(s), consumer, invoice and period, endpoint — read
 * from its data: what a reader without the data's scope still sees of an event.
 */
export function resourceIdsOf(data: unknown): string[] {
  if (!isObject(data)) return [];
  const ids: unknown[] = [];
  const from = (o: Json) => {
    if ('id' in o) ids.push(o.id);
    for (const field of ID_FIELDS) ids.push(o[field]);
  };
  for (const field of ID_FIELDS) ids.push(data[field]);
  for (const name of NESTED_RESOURCES) if (isObject(data[name])) from(data[name]);
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && id.length > 0))];
}
