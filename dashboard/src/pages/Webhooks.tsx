import { useEffect, useState } from 'react';
import { api, call, callNoContent, type ListQuery, type Schemas } from '../api';
import { ConfirmButton, Empty, ErrorBox, needs, Pager, SecretOnce, Show } from '../components';
import { Status, Time } from '../format';
import { useAction, useLoad, usePaged } from '../hooks';
import { href } from '../router';
import { useSession } from '../session';

type Endpoint = Schemas['WebhookEndpointDto'];
type CreatedEndpoint = Schemas['CreatedWebhookEndpointDto'];
type Delivery = Schemas['WebhookDeliveryDto'];
type DeliveryStatus = Schemas['WebhookDeliveryStatus'];
type Subscription = Schemas['CreateWebhookEndpointDto']['events'][number];

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
const EVENT_TYPES = Object.keys(EVENT_ORDER) as Exclude<Subscription, '*'>[];

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed', 'canceled'];

/** Webhook secrets are kept by Tollgate (it signs with them), but are never shown after this answer. */
const SECRET_KEPT = 'Tollgate signs with it but never shows it again: store it now where your receiver verifies signatures.';

function endpointState(e: Endpoint): string {
  if (e.enabled) return e.failingSince ? 'failing' : 'enabled';
  return e.disabledReason === 'failing' ? 'disabled-failing' : 'disabled';
}

function Events({ events }: { events: string[] }) {
  if (events.includes('*')) return <span>all events</span>;
  return (
    <>
      {events.map((e) => (
        <code key={e}>{e}</code>
      ))}
    </>
  );
}

export function Webhooks() {
  const { can } = useSession();
  const [created, setCreated] = useState<CreatedEndpoint | null>(null);
  const paged = usePaged((cursor) => {
    const query: ListQuery<'/v1/admin/webhook-endpoints'> = { limit: 20, cursor };
    return call(api.GET('/v1/admin/webhook-endpoints', { params: { query } }));
  }, []);
  return (
    <section>
      <hgroup>
        <h1>Webhooks</h1>
        <p>Signed event deliveries (Standard Webhooks) to your HTTPS endpoints.</p>
      </hgroup>
      {created ? (
        <SecretOnce label={`Signing secret of ${created.url}`} value={created.secret} kept={SECRET_KEPT}>
          <a href={href('webhooks', created.id)}>Open the endpoint</a>
        </SecretOnce>
      ) : null}
      {can('webhooks:write') ? (
        <details className="create">
          <summary role="button" className="outline">
            New endpoint
          </summary>
          <CreateEndpointForm
            onCreated={(e) => {
              setCreated(e);
              paged.reload();
            }}
          />
        </details>
      ) : (
        <p>
          <button type="button" disabled title={needs('webhooks:write')}>
            New endpoint
          </button>{' '}
          <small>{needs('webhooks:write')}.</small>
        </p>
      )}
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No webhook endpoints yet.</Empty>
          ) : (
            <table className="striped">
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">State</th>
                  <th scope="col">Failing since</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((e) => (
                  <tr key={e.id} data-endpoint={e.id}>
                    <td>
                      <a href={href('webhooks', e.id)}>{e.url}</a>
                      {e.description ? (
                        <>
                          <br />
                          <small>{e.description}</small>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <Events events={e.events} />
                    </td>
                    <td>
                      <Status value={endpointState(e)} />
                    </td>
                    <td>
                      <Time value={e.failingSince} />
                    </td>
                    <td>
                      <Time value={e.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={paged} label="Endpoint" />
    </section>
  );
}

function CreateEndpointForm({ onCreated }: { onCreated: (e: CreatedEndpoint) => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<Subscription[]>(['*']);
  const [description, setDescription] = useState('');
  const action = useAction();
  return (
    <form
      aria-label="New webhook endpoint"
      onSubmit={async (ev) => {
        ev.preventDefault();
        const body: Schemas['CreateWebhookEndpointDto'] = {
          url: url.trim(),
          events,
          description: description.trim() || null,
        };
        const created = await action.run(() => call(api.POST('/v1/admin/webhook-endpoints', { body })));
        if (created) {
          setUrl('');
          setDescription('');
          onCreated(created);
        }
      }}
    >
      <fieldset disabled={action.busy}>
        <label htmlFor="webhook-url">
          Endpoint URL
          <input id="webhook-url" type="url" required placeholder="https://hooks.example.com/tollgate" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <label htmlFor="webhook-description">
          Description (optional)
          <input id="webhook-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <EventChooser idPrefix="webhook" value={events} onChange={setEvents} />
      </fieldset>
      {action.error ? <ErrorBox error={action.error} /> : null}
      <button type="submit" disabled={action.busy} aria-busy={action.busy}>
        Create endpoint
      </button>
    </form>
  );
}

/** All events (`*`, which also covers types added later), or a chosen list. */
function EventChooser({ idPrefix, value, onChange }: { idPrefix: string; value: readonly Subscription[]; onChange: (events: Subscription[]) => void }) {
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
function subscriptionsOf(events: readonly string[]): Subscription[] {
  if (events.includes('*')) return ['*'];
  return EVENT_TYPES.filter((t) => events.includes(t));
}

function EndpointSettings({ e, onSaved }: { e: Endpoint; onSaved: () => void }) {
  const [url, setUrl] = useState(e.url);
  const [events, setEvents] = useState<Subscription[]>(subscriptionsOf(e.events));
  const [description, setDescription] = useState(e.description ?? '');
  const action = useAction();
  return (
    <section>
      <h2>Settings</h2>
      <form
        aria-label="Endpoint settings"
        onSubmit={async (ev) => {
          ev.preventDefault();
          const body: Schemas['UpdateWebhookEndpointDto'] = { url: url.trim(), events, description: description.trim() || null };
          if (await action.run(() => call(api.PATCH('/v1/admin/webhook-endpoints/{id}', { params: { path: { id: e.id } }, body })))) onSaved();
        }}
      >
        <fieldset disabled={action.busy}>
          <label htmlFor="edit-webhook-url">
            Endpoint URL
            <input id="edit-webhook-url" type="url" required value={url} onChange={(ev) => setUrl(ev.target.value)} />
          </label>
          <label htmlFor="edit-webhook-description">
            Description
            <input id="edit-webhook-description" value={description} onChange={(ev) => setDescription(ev.target.value)} />
          </label>
          <EventChooser idPrefix="edit-webhook" value={events} onChange={setEvents} />
        </fieldset>
        {action.error ? <ErrorBox error={action.error} /> : null}
        <button type="submit" disabled={action.busy} aria-busy={action.busy}>
          Save endpoint settings
        </button>
      </form>
    </section>
  );
}

export function WebhookEndpointPage({ id }: { id: string }) {
  const { can } = useSession();
  const [endpoint, reload] = useLoad(() => call(api.GET('/v1/admin/webhook-endpoints/{id}', { params: { path: { id } } })), [id]);
  const [secret, setSecret] = useState<string | null>(null);
  const [deleted, setDeleted] = useState(false);
  const [deliveriesTick, setDeliveriesTick] = useState(0);
  if (deleted) {
    return (
      <section>
        <h1>Endpoint deleted</h1>
        <p>
          It and its delivery log are gone. <a href={href('webhooks')}>Back to the webhook endpoints</a>
        </p>
      </section>
    );
  }
  return (
    <Show state={endpoint}>
      {(e) => (
        <section>
          <nav aria-label="breadcrumb">
            <ul>
              <li>
                <a href={href('webhooks')}>Webhooks</a>
              </li>
              <li>{e.url}</li>
            </ul>
          </nav>
          <hgroup>
            <h1>{e.url}</h1>
            <p>
              <code>{e.id}</code> · <Status value={endpointState(e)} /> · created <Time value={e.createdAt} />
            </p>
          </hgroup>
          {secret ? <SecretOnce label="New signing secret" value={secret} kept={SECRET_KEPT} /> : null}
          <dl className="facts">
            <dt>Events</dt>
            <dd>
              <Events events={e.events} />
            </dd>
            <dt>Description</dt>
            <dd>{e.description ?? '—'}</dd>
            <dt>Failing since</dt>
            <dd>
              <Time value={e.failingSince} empty="— (deliveries succeed)" />
            </dd>
            {!e.enabled ? (
              <>
                <dt>Disabled</dt>
                <dd>{e.disabledReason === 'failing' ? 'by Tollgate, after 3 days without a successful delivery' : 'by an operator'}</dd>
              </>
            ) : null}
            {e.previousSecretExpiresAt ? (
              <>
                <dt>Previous secret signs until</dt>
                <dd>
                  <Time value={e.previousSecretExpiresAt} />
                </dd>
              </>
            ) : null}
          </dl>
          <EndpointActions
            e={e}
            onChanged={() => {
              // Disabling cancels pending deliveries: the list below changes too.
              reload();
              setDeliveriesTick((t) => t + 1);
            }}
            onRotated={setSecret}
            onTested={() => setDeliveriesTick((t) => t + 1)}
            onDeleted={() => setDeleted(true)}
            allowed={can('webhooks:write')}
          />
          <Deliveries endpointId={e.id} tick={deliveriesTick} canRetry={can('webhooks:write') && e.enabled} enabled={e.enabled} />
          {can('webhooks:write') ? <EndpointSettings key={e.updatedAt} e={e} onSaved={reload} /> : null}
        </section>
      )}
    </Show>
  );
}

function EndpointActions({
  e,
  allowed,
  onChanged,
  onRotated,
  onTested,
  onDeleted,
}: {
  e: Endpoint;
  allowed: boolean;
  onChanged: () => void;
  onRotated: (secret: string) => void;
  onTested: () => void;
  onDeleted: () => void;
}) {
  const action = useAction();
  const [tested, setTested] = useState<Delivery | null>(null);
  const why = allowed ? undefined : needs('webhooks:write');
  const off = !allowed || action.busy;
  return (
    <section className="actions">
      <h2>Actions</h2>
      <p className="row-actions">
        <button
          type="button"
          className="secondary"
          disabled={off || !e.enabled}
          title={why ?? (e.enabled ? undefined : 'The endpoint is disabled; enable it first')}
          onClick={async () => {
            const delivery = await action.run(() => call(api.POST('/v1/admin/webhook-endpoints/{id}/test', { params: { path: { id: e.id } } })));
            if (delivery) {
              setTested(delivery);
              onTested();
            }
          }}
        >
          Send test event
        </button>
        <button
          type="button"
          className="secondary"
          disabled={off}
          title={why}
          onClick={async () => {
            const body: Schemas['UpdateWebhookEndpointDto'] = { enabled: !e.enabled };
            if (await action.run(() => call(api.PATCH('/v1/admin/webhook-endpoints/{id}', { params: { path: { id: e.id } }, body })))) onChanged();
          }}
        >
          {e.enabled ? 'Disable' : 'Enable'}
        </button>
        <ConfirmButton
          label="Rotate secret"
          title="Replace the signing secret?"
          confirmLabel="Rotate the secret"
          disabled={off}
          disabledReason={why}
          onConfirm={async () => {
            const rotated = await action.run(() => call(api.POST('/v1/admin/webhook-endpoints/{id}/rotate-secret', { params: { path: { id: e.id } } })));
            if (rotated) {
              onRotated(rotated.secret);
              onChanged();
            }
          }}
        >
          <p>The new secret is shown once. For 24 hours deliveries carry a signature with each secret, so your receiver can switch without rejecting anything.</p>
        </ConfirmButton>
        <ConfirmButton
          label="Delete"
          className="contrast"
          title={`Delete ${e.url}?`}
          confirmLabel="Delete the endpoint"
          disabled={off}
          disabledReason={why}
          onConfirm={async () => {
            if (await action.run(() => callNoContent(api.DELETE('/v1/admin/webhook-endpoints/{id}', { params: { path: { id: e.id } } })))) onDeleted();
          }}
        >
          <p>It receives nothing more; its pending deliveries and its delivery log are removed. It cannot be undone.</p>
        </ConfirmButton>
      </p>
      {!allowed ? (
        <p>
          <small>{needs('webhooks:write')}: it cannot change, test or delete endpoints.</small>
        </p>
      ) : null}
      {tested ? (
        <p role="status">
          Test event queued as <code>{tested.id}</code>.
        </p>
      ) : null}
      {action.error ? <ErrorBox error={action.error} /> : null}
    </section>
  );
}

function Deliveries({ endpointId, tick, canRetry, enabled }: { endpointId: string; tick: number; canRetry: boolean; enabled: boolean }) {
  const { can } = useSession();
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const action = useAction();
  const paged = usePaged(
    (cursor) => {
      const query: ListQuery<'/v1/admin/webhook-endpoints/{id}/deliveries'> = { limit: 20, cursor };
      if (status) query.status = status;
      return call(api.GET('/v1/admin/webhook-endpoints/{id}/deliveries', { params: { path: { id: endpointId }, query } }));
    },
    [endpointId, status, tick],
  );
  // While a delivery is pending, look again every few seconds so it is seen to succeed or fail.
  const pending = paged.state.status === 'ok' && paged.state.data.data.some((d) => d.status === 'pending');
  const { reload } = paged;
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(reload, 2000);
    return () => clearTimeout(timer);
  }, [pending, reload, paged.state]);
  const retryWhy = !can('webhooks:write') ? needs('webhooks:write') : !enabled ? 'The endpoint is disabled; enable it first' : undefined;
  return (
    <section>
      <h2>Deliveries</h2>
      <div>
        <label htmlFor="delivery-status-filter" className="inline">
          Status
          <select
            id="delivery-status-filter"
            value={status}
            onChange={(ev) => {
              const v = ev.target.value;
              setStatus(DELIVERY_STATUSES.find((s) => s === v) ?? '');
            }}
          >
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>{' '}
        <button type="button" className="secondary outline small" onClick={paged.reload}>
          Refresh
        </button>
      </div>
      {action.error ? <ErrorBox error={action.error} /> : null}
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No deliveries{status ? ` with status ${status}` : ''} to this endpoint yet.</Empty>
          ) : (
            <table data-testid="deliveries">
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last response</th>
                  <th scope="col">Next attempt</th>
                  <th scope="col">
                    <span className="visually-hidden">Retry</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((d) => (
                  <tr key={d.id} data-delivery={d.id} data-status={d.status}>
                    <td>
                      <code>{d.eventType}</code>
                      <br />
                      <small>
                        {d.eventId} · <Time value={d.createdAt} />
                      </small>
                    </td>
                    <td>
                      <Status value={d.status} />
                    </td>
                    <td>
                      <Attempts d={d} />
                    </td>
                    <td>
                      {d.lastStatusCode ?? '—'}
                      {d.lastError ? (
                        <>
                          <br />
                          <small>{d.lastError}</small>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <Time value={d.nextAttemptAt} />
                    </td>
                    <td>
                      <button
                        type="button"
                        className="secondary outline small"
                        disabled={!canRetry || action.busy}
                        title={retryWhy}
                        onClick={async () => {
                          const retried = await action.run(() =>
                            call(api.POST('/v1/admin/webhook-endpoints/{id}/deliveries/{deliveryId}/retry', { params: { path: { id: endpointId, deliveryId: d.id } } })),
                          );
                          if (retried) paged.reload();
                        }}
                      >
                        Retry
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={paged} label="Delivery" />
    </section>
  );
}

/** Every attempt of a delivery: when, the receiver's status or why there was none, how long, what it answered. */
function Attempts({ d }: { d: Delivery }) {
  if (d.attemptLog.length === 0) return <span>{d.attempts}</span>;
  return (
    <details className="attempts">
      <summary>{d.attempts}</summary>
      <ol>
        {d.attemptLog.map((a) => (
          <li key={a.attempt} data-attempt={a.attempt}>
            <Time value={a.startedAt} /> · {a.statusCode ?? 'no answer'} · {a.durationMs} ms{a.error ? <> · {a.error}</> : null}
            {a.responseBody ? <pre title="The start of the answer (1 KiB at most)">{a.responseBody}</pre> : null}
          </li>
        ))}
      </ol>
    </details>
  );
}
