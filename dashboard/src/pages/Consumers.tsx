import { useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { Empty, ErrorBox, Pager, Show } from '../components';
import { Status, Time } from '../format';
import { useAction, useLoad, usePaged } from '../hooks';
import { href, navigate } from '../router';
import { useSession } from '../session';

type Consumer = Schemas['ConsumerDto'];
type StatusFilter = '' | 'active' | 'suspended';

/** Plans by id, for names and selects (empty without plans:read). */
export function usePlans() {
  const { can } = useSession();
  return useLoad(async () => {
    if (!can('plans:read')) return [];
    const plans: Schemas['PlanDto'][] = [];
    let cursor: string | undefined;
    // Operators have few plans; five pages of 100 is far more than any price list.
    for (let i = 0; i < 5; i++) {
      const query: ListQuery<'/v1/admin/plans'> = { limit: 100, cursor };
      const page = await call(api.GET('/v1/admin/plans', { params: { query } }));
      plans.push(...page.data);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return plans;
  }, []);
}

export function Consumers() {
  const { can } = useSession();
  const [status, setStatus] = useState<StatusFilter>('');
  const [search, setSearch] = useState('');
  const [externalId, setExternalId] = useState('');
  const paged = usePaged(
    (cursor) => {
      const query: ListQuery<'/v1/admin/consumers'> = { limit: 20, cursor };
      if (status) query.status = status;
      if (externalId) query.externalId = externalId;
      return call(api.GET('/v1/admin/consumers', { params: { query } }));
    },
    [status, externalId],
  );
  const [plans] = usePlans();
  const planName = (id: string | null) => (id === null ? '—' : plans.status === 'ok' ? (plans.data.find((p) => p.id === id)?.name ?? id) : id);
  const action = useAction();
  const canWrite = can('consumers:write');

  return (
    <section>
      <h1>Consumers</h1>
      <CreateConsumer plans={plans.status === 'ok' ? plans.data : []} onCreated={(c) => navigate('consumers', c.id)} />
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          const q = search.trim();
          // An id opens the consumer; anything else is looked up as an external id.
          if (/^cons_[0-9A-Za-z]+$/.test(q)) navigate('consumers', q);
          else setExternalId(q);
        }}
      >
        <fieldset role="group">
          <input
            type="search"
            aria-label="Search by consumer id or external id"
            placeholder="Consumer id or external id"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              if (!e.target.value) setExternalId('');
            }}
          />
          <button type="submit">Search</button>
        </fieldset>
        <label htmlFor="status-filter">
          Status
          <select id="status-filter" value={status} onChange={(e) => setStatus(statusFilter(e.target.value))}>
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="suspended">Suspended</option>
          </select>
        </label>
      </form>
      {action.error ? <ErrorBox error={action.error} /> : null}
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>{externalId || status ? 'No consumer matches these filters.' : 'No consumers yet. Create the first one above.'}</Empty>
          ) : (
            <table className="striped">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">External id</th>
                  <th scope="col">Status</th>
                  <th scope="col">Plan</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <a href={href('consumers', c.id)}>{c.name}</a>
                    </td>
                    <td>{c.externalId ?? '—'}</td>
                    <td>
                      <Status value={c.status} />
                    </td>
                    <td>{planName(c.planId)}</td>
                    <td>
                      <Time value={c.createdAt} />
                    </td>
                    <td>
                      <SuspendResume consumer={c} disabled={!canWrite || action.busy} onDone={paged.reload} run={action.run} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={paged} label="Consumers" />
    </section>
  );
}

function statusFilter(value: string): StatusFilter {
  return value === 'active' || value === 'suspended' ? value : '';
}

export function SuspendResume({
  consumer,
  disabled,
  onDone,
  run,
}: {
  consumer: Consumer;
  disabled: boolean;
  onDone: () => void;
  run: ReturnType<typeof useAction>['run'];
}) {
  const suspend = consumer.status === 'active';
  return (
    <button
      type="button"
      className="secondary outline small"
      disabled={disabled}
      aria-label={`${suspend ? 'Suspend' : 'Resume'} ${consumer.name}`}
      onClick={async () => {
        const params = { path: { id: consumer.id } };
        const done = await run(() => call(suspend ? api.POST('/v1/admin/consumers/{id}/suspend', { params }) : api.POST('/v1/admin/consumers/{id}/resume', { params })));
        if (done) onDone();
      }}
    >
      {suspend ? 'Suspend' : 'Resume'}
    </button>
  );
}

function CreateConsumer({ plans, onCreated }: { plans: Schemas['PlanDto'][]; onCreated: (c: Consumer) => void }) {
  const { can } = useSession();
  const allowed = can('consumers:write');
  const [name, setName] = useState('');
  const [externalId, setExternalId] = useState('');
  const [planId, setPlanId] = useState('');
  const [anchor, setAnchor] = useState('1');
  const action = useAction();
  if (!allowed) {
    return (
      <p className="create">
        <button type="button" disabled aria-describedby="create-consumer-why">
          New consumer
        </button>{' '}
        <small id="create-consumer-why">Your key lacks the consumers:write scope: it cannot create consumers.</small>
      </p>
    );
  }
  return (
    <details className="create">
      <summary role="button" className="outline">
        New consumer
      </summary>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const body: Schemas['CreateConsumerDto'] = { name: name.trim(), billingAnchorDay: Number(anchor) };
          if (externalId.trim()) body.externalId = externalId.trim();
          if (planId) body.planId = planId;
          const created = await action.run(() => call(api.POST('/v1/admin/consumers', { body })));
          if (created) onCreated(created);
        }}
      >
        <fieldset disabled={action.busy}>
          <div className="grid">
            <label htmlFor="new-consumer-name">
              Name
              <input id="new-consumer-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label htmlFor="new-consumer-external">
              External id (optional)
              <input id="new-consumer-external" maxLength={200} value={externalId} onChange={(e) => setExternalId(e.target.value)} />
            </label>
          </div>
          <div className="grid">
            <label htmlFor="new-consumer-plan">
              Plan
              <select id="new-consumer-plan" value={planId} onChange={(e) => setPlanId(e.target.value)}>
                <option value="">No plan (metered, billed nothing)</option>
                {plans.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name} ({p.currency})
                  </option>
                ))}
              </select>
            </label>
            <label htmlFor="new-consumer-anchor">
              Billing anchor day
              <input id="new-consumer-anchor" type="number" min={1} max={28} required value={anchor} onChange={(e) => setAnchor(e.target.value)} />
            </label>
          </div>
        </fieldset>
        {action.error ? <ErrorBox error={action.error} /> : null}
        <button type="submit" disabled={action.busy} aria-busy={action.busy}>
          Create consumer
        </button>
      </form>
    </details>
  );
}
