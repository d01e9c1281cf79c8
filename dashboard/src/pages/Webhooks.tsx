import { useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { ErrorBox, needs, SecretOnce } from '../components';
import { Status, Time } from '../format';
import { useAction, usePaged } from '../hooks';
import { type CreatedEndpoint, type Endpoint, endpointState, EventChooser, Events, SECRET_KEPT, type Subscription } from '../parts/webhook';
import { href } from '../router';
import { useSession } from '../session';
import { DataTable } from '../table';

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
        <SecretOnce label={`Signing secret of ${created.url}`} value={created.secret} kept={SECRET_KEPT} onDismiss={() => setCreated(null)}>
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
      <DataTable<Endpoint>
        paged={paged}
        label="Endpoint"
        rowKey={(e) => e.id}
        rowProps={(e) => ({ 'data-endpoint': e.id })}
        empty="No webhook endpoints yet."
        columns={[
          {
            header: 'URL',
            className: 'wrap url',
            cell: (e) => (
              <>
                <a href={href('webhooks', e.id)}>{e.url}</a>
                {e.description ? (
                  <>
                    <br />
                    <small>{e.description}</small>
                  </>
                ) : null}
              </>
            ),
          },
          { header: 'Events', className: 'wrap', cell: (e) => <Events events={e.events} /> },
          { header: 'State', cell: (e) => <Status value={endpointState(e)} /> },
          { header: 'Failing since', className: 'nowrap', cell: (e) => <Time value={e.failingSince} /> },
          { header: 'Created', className: 'nowrap', cell: (e) => <Time value={e.createdAt} /> },
        ]}
      />
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
          <input id="webhook-url" type="url" required aria-describedby="webhook-url-hint" value={url} onChange={(e) => setUrl(e.target.value)} />
          <small id="webhook-url-hint">Where Tollgate POSTs signed events, e.g. https://hooks.example.com/tollgate (a public address).</small>
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
