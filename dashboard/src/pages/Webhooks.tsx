import createClient from 'openapi-fetch';
import { useState } from 'react';
import { storedKey, unwrap } from '../api';
import { Empty, Pager, Show } from '../components';
import { Status, Time } from '../format';
import { useLoad, usePaged } from '../hooks';

/**
 * The webhook endpoints API as DESIGN.md describes it. Servers built before that API answer 404 on these
 * routes, and the page says so instead of failing; every field the page reads is optional, so a
 * server that names a detail differently shows a dash rather than breaking the page.
 */
interface WebhookEndpoint {
  id: string;
  url: string;
  events?: string[] | string;
  enabled?: boolean;
  description?: string | null;
  disabledAt?: string | null;
  createdAt?: string;
}

interface WebhookDelivery {
  id: string;
  eventId?: string;
  eventType?: string;
  type?: string;
  status?: string;
  attempts?: number;
  lastResponseStatus?: number | null;
  responseStatus?: number | null;
  lastAttemptAt?: string | null;
  nextAttemptAt?: string | null;
  createdAt?: string;
}

interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

interface WebhookPaths {
  '/v1/admin/webhook-endpoints': {
    get: {
      parameters: { query?: { limit?: number; cursor?: string } };
      responses: { 200: { content: { 'application/json': Page<WebhookEndpoint> } }; 404: { content: { 'application/json': unknown } } };
    };
  };
  '/v1/admin/webhook-endpoints/{id}/deliveries': {
    get: {
      parameters: { path: { id: string }; query?: { limit?: number; cursor?: string; status?: string } };
      responses: { 200: { content: { 'application/json': Page<WebhookDelivery> } }; 404: { content: { 'application/json': unknown } } };
    };
  };
}

const webhooks = createClient<WebhookPaths>({ baseUrl: window.location.origin });
webhooks.use({
  onRequest({ request }) {
    const key = storedKey();
    if (key) request.headers.set('X-API-Key', key);
    return request;
  },
});

/** null when this server has no webhook endpoints API (404 on the collection itself). */
async function listEndpoints(cursor: string | undefined): Promise<Page<WebhookEndpoint> | null> {
  const result = await webhooks.GET('/v1/admin/webhook-endpoints', { params: { query: { limit: 20, cursor } } });
  if (result.response.status === 404) return null;
  return unwrap(result);
}

export function Webhooks() {
  const [cursor, setCursor] = useState<string[]>([]);
  const [endpoints] = useLoad(() => listEndpoints(cursor[cursor.length - 1]), [cursor]);
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <section>
      <hgroup>
        <h1>Webhooks</h1>
        <p>Signed event deliveries (Standard Webhooks) to your HTTPS endpoints.</p>
      </hgroup>
      <Show state={endpoints}>
        {(page) =>
          page === null ? (
            <Empty>
              <strong>Not available:</strong> this server has no webhook endpoints API (<code>/v1/admin/webhook-endpoints</code> answered 404).
            </Empty>
          ) : page.data.length === 0 ? (
            <Empty>No webhook endpoints yet. Subscribe one with POST /v1/admin/webhook-endpoints.</Empty>
          ) : (
            <>
              <table className="striped">
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">Events</th>
                    <th scope="col">State</th>
                    <th scope="col">Created</th>
                    <th scope="col">
                      <span className="visually-hidden">Deliveries</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((e) => (
                    <tr key={e.id}>
                      <td>
                        <code>{e.url}</code>
                        {e.description ? (
                          <>
                            <br />
                            <small>{e.description}</small>
                          </>
                        ) : null}
                      </td>
                      <td>{Array.isArray(e.events) ? e.events.join(', ') : (e.events ?? '—')}</td>
                      <td>
                        <Status value={e.enabled === false || e.disabledAt ? 'disabled' : 'enabled'} />
                      </td>
                      <td>
                        <Time value={e.createdAt} />
                      </td>
                      <td>
                        <button type="button" className="secondary outline small" aria-expanded={selected === e.id} onClick={() => setSelected(selected === e.id ? null : e.id)}>
                          Deliveries
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <nav aria-label="Endpoint pages" className="pager">
                <button type="button" className="secondary outline" disabled={cursor.length === 0} onClick={() => setCursor((c) => c.slice(0, -1))}>
                  ← Previous
                </button>
                <button
                  type="button"
                  className="secondary outline"
                  disabled={!page.nextCursor}
                  onClick={() => page.nextCursor && setCursor((c) => (page.nextCursor ? [...c, page.nextCursor] : c))}
                >
                  Next →
                </button>
              </nav>
              {selected ? <Deliveries endpointId={selected} /> : null}
            </>
          )
        }
      </Show>
    </section>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const paged = usePaged(
    async (cursor) => unwrap(await webhooks.GET('/v1/admin/webhook-endpoints/{id}/deliveries', { params: { path: { id: endpointId }, query: { limit: 20, cursor } } })),
    [endpointId],
  );
  return (
    <section>
      <h2>Deliveries</h2>
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No deliveries to this endpoint yet.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last response</th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">Next attempt</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <code>{d.eventType ?? d.type ?? d.eventId ?? d.id}</code>
                    </td>
                    <td>{d.status ? <Status value={d.status} /> : '—'}</td>
                    <td>{d.attempts ?? '—'}</td>
                    <td>{d.lastResponseStatus ?? d.responseStatus ?? '—'}</td>
                    <td>
                      <Time value={d.lastAttemptAt} />
                    </td>
                    <td>
                      <Time value={d.nextAttemptAt} empty="—" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={paged} label="Deliveries" />
    </section>
  );
}
