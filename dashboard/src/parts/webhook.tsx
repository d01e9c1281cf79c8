import { type Schemas } from '../api';

export type Endpoint = Schemas['WebhookEndpointDto'];
export type CreatedEndpoint = Schemas['CreatedWebhookEndpointDto'];
export type Delivery = Schemas['WebhookDeliveryDto'];
export type DeliveryStatus = Schemas['WebhookDeliveryStatus'];
export type Subscription = Schemas['CreateWebhookEndpointDto']['events'][number];

/**
 * The event types an endpoint can subscribe to, in the order shown (`webhook.test` is sent on request
 * only). Keyed by the API's own type, so an event type added to the API does not compile here until listed.
 */
const EVENT_ORDER: Record<Exclude<Subscription, '*'>, true> = {
  'key.created': true,
  'key.rotated': true,
  'key.revoked': true,
  'key.expiring': true,
  'key.leaked': true,
  'consumer.created': true,
  'consumer.suspended': true,
  'consumer.resumed': true,
  'quota.threshold': true,
  'rate_limit.exceeded': true,
  'invoice.closed': true,
  'webhook.endpoint_disabled': true,
};
export const EVENT_TYPES = Object.keys(EVENT_ORDER) as Exclude<Subscription, '*'>[];

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed', 'canceled'];

/** Webhook secrets are kept by Tollgate (it signs with them), but are never shown after this answer. */
export const SECRET_KEPT = 'Tollgate signs with it but never shows it again: store it now where your receiver verifies signatures.';

export function endpointState(e: Endpoint): string {
  if (e.enabled) return e.failingSince ? 'failing' : 'enabled';
  return e.disabledReason === 'failing' ? 'disabled-failing' : 'disabled';
}

export function Events({ events }: { events: string[] }) {
  if (events.includes('*')) return <span>all events</span>;
  return (
    <>
      {events.map((e) => (
        <code key={e}>{e}</code>
      ))}
    </>
  );
}

/** All events (`*`, which also covers types added later), or a chosen list. */
export function EventChooser({ idPrefix, value, onChange }: { idPrefix: string; value: readonly Subscription[]; onChange: (events: Subscription[]) => void }) {
  const all = value.includes('*');
  return (
    <fieldset>
      <legend>Events</legend>
      <label htmlFor={`${idPrefix}-all-events`}>
        <input id={`${idPrefix}-all-events`} type="checkbox" role="switch" checked={all} onChange={(e) => onChange(e.target.checked ? ['*'] : [])} />
        All events (<code>*</code>, including types added later)
      </label>
      {all
        ? null
        : EVENT_TYPES.map((t) => (
            <label key={t} htmlFor={`${idPrefix}-event-${t}`}>
              <input
                id={`${idPrefix}-event-${t}`}
                type="checkbox"
                checked={value.includes(t)}
                onChange={(e) => onChange(EVENT_TYPES.filter((x) => (x === t ? e.target.checked : value.includes(x))))}
              />
              <code>{t}</code>
            </label>
          ))}
    </fieldset>
  );
}

/** An endpoint's subscriptions as the form edits them (the console is built with its server, so it knows every type). */
export function subscriptionsOf(events: readonly string[]): Subscription[] {
  if (events.includes('*')) return ['*'];
  return EVENT_TYPES.filter((t) => events.includes(t));
}

