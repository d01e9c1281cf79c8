import { useState } from 'react';
import { api, call, type ListQuery } from '../api';
import { Empty, ErrorBox, Pager, Show } from '../components';
import { Time } from '../format';
import { useLoad, usePaged } from '../hooks';
import { href } from '../router';

interface Filters {
  actorKeyId: string;
  targetType: string;
  targetId: string;
  action: string;
  from: string;
  to: string;
}

const NONE: Filters = { actorKeyId: '', targetType: '', targetId: '', action: '', from: '', to: '' };

export function AuditLog() {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const [chain, recheck] = useLoad(() => call(api.GET('/v1/admin/audit-log/verify')), []);
  const paged = usePaged(
    (cursor) => {
      const query: ListQuery<'/v1/admin/audit-log'> = { limit: 25, cursor };
      if (filters.actorKeyId) query.actorKeyId = filters.actorKeyId;
      if (filters.targetType) query.targetType = filters.targetType;
      if (filters.targetId) query.targetId = filters.targetId;
      if (filters.action) query.action = filters.action;
      if (filters.from) query.from = new Date(filters.from).toISOString();
      if (filters.to) query.to = new Date(filters.to).toISOString();
      return call(api.GET('/v1/admin/audit-log', { params: { query } }));
    },
    [filters],
  );
  const field = (name: keyof Filters, label: string, type = 'text') => (
    <label htmlFor={`audit-${name}`}>
      {label}
      <input id={`audit-${name}`} type={type} value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} />
    </label>
  );

  return (
    <section>
      <hgroup>
        <h1>Audit log</h1>
        <p>Every change, hash-chained: an edited or deleted entry breaks the chain.</p>
      </hgroup>
      <p className="chain" aria-live="polite">
        {chain.status === 'loading' ? (
          <mark aria-busy="true">Checking the chain…</mark>
        ) : chain.status === 'error' ? (
          <ErrorBox error={chain.error} />
        ) : chain.data.valid ? (
          <mark className="status status-ok" data-testid="chain-badge" title={`Head ${chain.data.headHash}`}>
            Chain intact · {chain.data.checked} entries checked
          </mark>
        ) : (
          <mark className="status status-broken" data-testid="chain-badge">
            Chain broken at entry #{chain.data.firstInvalid?.seq}: {chain.data.firstInvalid?.reason}
          </mark>
        )}{' '}
        <button type="button" className="secondary outline small" onClick={recheck}>
          Check again
        </button>
      </p>
      <form
        className="filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <div className="grid">
          {field('action', 'Action (e.g. key.revoke)')}
          {field('targetType', 'Target type')}
          {field('targetId', 'Target id')}
        </div>
        <div className="grid">
          {field('actorKeyId', 'Actor key id')}
          {field('from', 'From (your time zone)', 'datetime-local')}
          {field('to', 'To', 'datetime-local')}
        </div>
        <div className="grid">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(NONE);
              setFilters(NONE);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No audit entries match.</Empty>
          ) : (
            <table className="striped">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">By</th>
                  <th scope="col">From</th>
                  <th scope="col">Change</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((e) => (
                  <tr key={e.id}>
                    <td>{e.seq}</td>
                    <td>
                      <Time value={e.at} />
                    </td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>
                      {e.targetType} <TargetLink type={e.targetType} id={e.targetId} />
                    </td>
                    <td>{e.actorKeyId ? <a href={href('keys', e.actorKeyId)}>{e.actorKeyId}</a> : 'system'}</td>
                    <td>
                      {e.ip ?? '—'}
                      {e.requestId ? (
                        <>
                          <br />
                          <small>
                            <code>{e.requestId}</code>
                          </small>
                        </>
                      ) : null}
                    </td>
                    <td>
                      <details>
                        <summary>before / after</summary>
                        <pre>{JSON.stringify({ before: e.before, after: e.after }, null, 2)}</pre>
                      </details>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={paged} label="Audit log" />
    </section>
  );
}

function TargetLink({ type, id }: { type: string; id: string | null }) {
  if (!id) return null;
  if (type === 'consumer') return <a href={href('consumers', id)}>{id}</a>;
  if (type === 'key' || type === 'api_key') return <a href={href('keys', id)}>{id}</a>;
  return <code>{id}</code>;
}
