import { useEffect, useState } from 'react';
import { api, call, callNoContent, type ListQuery, type Schemas } from '../api';
import { ConfirmButton, ErrorBox, needs, SecretOnce, Show } from '../components';
import { Status, Time } from '../format';
import { useAction, useLoad, usePaged } from '../hooks';
import { type Delivery, DELIVERY_STATUSES, type DeliveryStatus, type Endpoint, endpointState, EventChooser, Events, SECRET_KEPT, type Subscription, subscriptionsOf } from '../parts/webhook';
import { href } from '../router';
import { useSession } from '../session';
import { DataTable } from '../table';

export function WebhookEndpointPage({ id }: { id: string }) {
  const { can } = useSession();
  const [endpoint, reload] = useLoad(() => call(api.GET('/v1/admin/webhook-endpoints/{id}', { params: { path: { id } } })), [id]);
  const [secret, setSecret] = useState<string | null>(null);
  const [deleted, setDeleted] = useState(false);
  const [deliveriesTick, setDeliveriesTick] = useState(0);
  // The newest delivery, as the list below last read it: the state sentence follows every refresh.
  const [newest, setNewest] = useState<Delivery | null | undefined>(undefined);
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
          <EndpointState e={e} newest={newest} />
          {secret ? <SecretOnce label="New signing secret" value={secret} kept={SECRET_KEPT} onDismiss={() => setSecret(null)} /> : null}
          <dl className="facts">
            <dt>Events</dt>
            <dd>
              <Events events={e.events} />
            </dd>
            <dt>Description</dt>
            <dd>{e.description ?? '—'}</dd>
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
          <Deliveries endpointId={e.id} tick={deliveriesTick} onNewest={setNewest} canRetry={can('webhooks:write') && e.enabled} enabled={e.enabled} />
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

function Deliveries({
  endpointId,
  tick,
  canRetry,
  enabled,
  onNewest,
}: {
  endpointId: string;
  tick: number;
  canRetry: boolean;
  enabled: boolean;
  onNewest: (d: Delivery | null) => void;
}) {
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
  useEffect(() => {
    if (paged.state.status === 'ok' && !status && paged.page === 1) onNewest(paged.state.data.data[0] ?? null);
  }, [paged.state, paged.page, status, onNewest]);
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
      <DataTable<Delivery>
        paged={paged}
        label="Delivery"
        striped={false}
        testId="deliveries"
        rowKey={(d) => d.id}
        rowProps={(d) => ({ 'data-delivery': d.id, 'data-status': d.status })}
        empty={`No deliveries${status ? ` with status ${status}` : ''} to this endpoint yet.`}
        columns={[
          {
            header: 'Event',
            className: 'wrap',
            cell: (d) => (
              <>
                <code>{d.eventType}</code>
                <br />
                <small>
                  <Time value={d.createdAt} />
                </small>
              </>
            ),
          },
          { header: 'Status', cell: (d) => <Status value={d.status} /> },
          { header: 'Attempts', className: 'wrap', cell: (d) => <Attempts d={d} /> },
          {
            header: 'Last response',
            className: 'wrap',
            cell: (d) => (
              <>
                {d.lastStatusCode ?? (d.lastError ? 'no answer' : '—')}
                {d.lastError ? <FullError text={d.lastError} /> : null}
              </>
            ),
          },
          { header: 'Next attempt', className: 'nowrap', cell: (d) => <Time value={d.nextAttemptAt} /> },
          {
            header: 'Retry',
            hiddenHeader: true,
            cell: (d) => (
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
            ),
          },
        ]}
      />
    </section>
  );
}

/**
 * An error as the receiver or the network gave it: the start on one line, and the whole text on demand,
 * wrapped inside its own box however long it is.
 */
function FullError({ text }: { text: string }) {
  const short = text.length <= 60;
  if (short) return <small className="error-text"> {text}</small>;
  return (
    <details className="full-error">
      <summary>
        <small>{text.slice(0, 57)}…</small> <span className="show">Show the full error</span>
      </summary>
      <pre className="json">{text}</pre>
    </details>
  );
}

/**
 * The endpoint's state in one sentence that its fields and its newest delivery agree on, instead of a
 * "Failing since" fact that reads "deliveries succeed" while the newest attempt failed.
 */
function EndpointState({ e, newest }: { e: Endpoint; newest: Delivery | null | undefined }) {
  const d = newest ?? null;
  const lastFailed = d !== null && d.attempts > 0 && d.status !== 'succeeded' && (d.lastError !== null || (d.lastStatusCode !== null && d.lastStatusCode >= 300));
  const why = d?.lastError ?? (d?.lastStatusCode ? `HTTP ${d.lastStatusCode}` : null);
  let sentence;
  if (!e.enabled && e.disabledReason === 'failing') {
    sentence = (
      <>
        Disabled by Tollgate: every attempt since <Time value={e.failingSince} /> failed, so nothing is delivered until an operator enables it again.
      </>
    );
  } else if (!e.enabled) {
    sentence = <>Disabled by an operator: nothing is delivered until it is enabled again.</>;
  } else if (e.failingSince) {
    sentence = (
      <>
        Failing: every attempt since <Time value={e.failingSince} /> has failed{why ? <> (last: {why.length > 80 ? `${why.slice(0, 77)}…` : why})</> : null}; Tollgate keeps retrying.
      </>
    );
  } else if (lastFailed) {
    sentence = (
      <>
        Delivering, but the newest attempt failed{why ? <> ({why.length > 80 ? `${why.slice(0, 77)}…` : why})</> : null}
        {d?.nextAttemptAt ? (
          <>
            ; it is retried <Time value={d.nextAttemptAt} />
          </>
        ) : null}
        .
      </>
    );
  } else if (d === null) {
    sentence = newest === null ? <>Enabled: nothing has been sent to it yet.</> : <>Enabled.</>;
  } else if (d.status !== 'succeeded') {
    sentence = <>Enabled: the newest delivery has not been answered yet.</>;
  } else {
    sentence = (
      <>
        Healthy: the newest delivery succeeded{d.lastAttemptAt ? <> <Time value={d.lastAttemptAt} /></> : null}.
      </>
    );
  }
  return (
    <p className="endpoint-state" data-testid="endpoint-state" role="status">
      {sentence}
    </p>
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
            <Time value={a.startedAt} /> · {a.statusCode ?? 'no answer'} · {a.durationMs} ms{a.error ? <FullError text={a.error} /> : null}
            {a.responseBody ? <pre title="The start of the answer (1 KiB at most)">{a.responseBody}</pre> : null}
          </li>
        ))}
      </ol>
    </details>
  );
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

