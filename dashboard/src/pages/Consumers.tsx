import { useEffect, useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { ErrorBox } from '../components';
import { Status, Time } from '../format';
import { useAction, usePaged } from '../hooks';
import { usePlans } from '../lookups';
import { SuspendResume } from '../parts/suspend-resume';
import { href, navigate } from '../router';
import { useSession } from '../session';
import { DataTable } from '../table';

type Consumer = Schemas['ConsumerDto'];
type StatusFilter = '' | 'active' | 'suspended';

export function Consumers() {
  const { can } = useSession();
  const [status, setStatus] = useState<StatusFilter>('');
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  // Searching as one types, once the typing pauses.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(timer);
  }, [search]);
  const paged = usePaged(
    (cursor) => {
      const q: ListQuery<'/v1/admin/consumers'> = { limit: 20, cursor };
      if (status) q.status = status;
      if (query) q.name = query;
      return call(api.GET('/v1/admin/consumers', { params: { query: q } }));
    },
    [status, query],
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
          // An id opens the consumer; an external id is exact; anything else matches names.
          if (/^cons_[0-9A-Za-z]+$/.test(q)) navigate('consumers', q);
          else setQuery(q);
        }}
      >
        <label htmlFor="consumer-search">
          Search by name
          <input id="consumer-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
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
      <DataTable<Consumer>
        paged={paged}
        label="Consumers"
        rowKey={(c) => c.id}
        empty={query || status ? 'No consumer matches these filters.' : 'No consumers yet. Create the first one above.'}
        columns={[
          { header: 'Name', className: 'wrap', cell: (c) => <a href={href('consumers', c.id)} title={c.id}>{c.name}</a> },
          { header: 'External id', className: 'wrap', cell: (c) => c.externalId ?? '—' },
          { header: 'Status', cell: (c) => <Status value={c.status} /> },
          { header: 'Plan', cell: (c) => planName(c.planId) },
          { header: 'Created', className: 'nowrap', cell: (c) => <Time value={c.createdAt} /> },
          {
            header: 'Actions',
            hiddenHeader: true,
            cell: (c) => <SuspendResume consumer={c} disabled={!canWrite || action.busy} onDone={paged.reload} run={action.run} />,
          },
        ]}
      />
    </section>
  );
}

function statusFilter(value: string): StatusFilter {
  return value === 'active' || value === 'suspended' ? value : '';
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
