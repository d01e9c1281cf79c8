import { useCallback, useEffect, useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { ErrorBox } from '../components';
import { Time } from '../format';
import { asApiError, type Loaded, usePaged } from '../hooks';
import { NameLink, useNames, usePlans } from '../lookups';
import { href } from '../router';
import { DataTable } from '../table';

type Entry = Schemas['AuditEntryDto'];
type Chain = Schemas['AuditVerificationDto'];

interface Filters {
  actorKeyId: string;
  targetType: string;
  targetId: string;
  action: string;
  from: string;
  to: string;
}

const NONE: Filters = { actorKeyId: '', targetType: '', targetId: '', action: '', from: '', to: '' };
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** The chain check, and when it last ran: "Check again" always shows that it ran, even when nothing changed. */
function useChainCheck(): { chain: Loaded<{ result: Chain; at: Date }>; checking: boolean; runs: number; check: () => void } {
  const [chain, setChain] = useState<Loaded<{ result: Chain; at: Date }>>({ status: 'loading' });
  const [checking, setChecking] = useState(false);
  const [runs, setRuns] = useState(0);
  const check = useCallback(() => {
    setChecking(true);
    call(api.GET('/v1/admin/audit-log/verify'))
      .then(
        (result) => setChain({ status: 'ok', data: { result, at: new Date() } }),
        (err) => setChain({ status: 'error', error: asApiError(err) }),
      )
      .finally(() => {
        setChecking(false);
        setRuns((n) => n + 1);
      });
  }, []);
  useEffect(check, [check]);
  return { chain, checking, runs, check };
}

export function AuditLog() {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [filters, setFilters] = useState<Filters>(NONE);
  const { chain, checking, runs, check } = useChainCheck();
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
  const rows = paged.state.status === 'ok' ? paged.state.data.data : [];
  const keys = useNames('key', [...rows.map((e) => e.actorKeyId), ...rows.filter((e) => e.targetType === 'key').map((e) => e.targetId)]);
  const consumers = useNames(
    'consumer',
    rows.filter((e) => e.targetType === 'consumer').map((e) => e.targetId),
  );
  const [plans] = usePlans();
  const field = (name: keyof Filters, label: string, type = 'text', hint?: string) => (
    <label htmlFor={`audit-${name}`} className={type === 'datetime-local' ? 'when' : undefined}>
      {label}
      <input id={`audit-${name}`} type={type} value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} />
      {hint ? <small>{hint}</small> : null}
    </label>
  );

  const target = (e: Entry) => {
    if (!e.targetId) return e.targetType;
    if (e.targetType === 'consumer') return <NameLink kind="consumer" id={e.targetId} named={consumers.names.get(e.targetId)} done={consumers.done} />;
    if (e.targetType === 'key') return <NameLink kind="key" id={e.targetId} named={keys.names.get(e.targetId)} done={keys.done} />;
    if (e.targetType === 'plan') {
      const plan = plans.status === 'ok' ? plans.data.find((p) => p.id === e.targetId) : undefined;
      if (plan) return <a href={href('plans')} title={plan.id}>{plan.name}</a>;
    }
    if (e.targetType === 'webhook_endpoint') return <a href={href('webhooks', e.targetId)}>{e.targetType.replace('_', ' ')}</a>;
    return (
      <>
        {e.targetType.replace('_', ' ')} <code className="id">{e.targetId}</code>
      </>
    );
  };

  return (
    <section>
      <hgroup>
        <h1>Audit log</h1>
        <p>Every change, hash-chained: an edited or deleted entry breaks the chain.</p>
      </hgroup>
      <div className="chain">
        {chain.status === 'loading' ? (
          <mark aria-busy="true">Checking the chain…</mark>
        ) : chain.status === 'error' ? (
          <ErrorBox error={chain.error} />
        ) : chain.data.result.valid ? (
          <mark className="status status-ok" data-testid="chain-badge" title={`Head ${chain.data.result.headHash}`}>
            Chain intact · {chain.data.result.checked} entries checked
          </mark>
        ) : (
          <mark className="status status-broken" data-testid="chain-badge">
            Chain broken at entry #{chain.data.result.firstInvalid?.seq}: {chain.data.result.firstInvalid?.reason}
          </mark>
        )}{' '}
        <button type="button" className="secondary outline small" onClick={check} disabled={checking} aria-busy={checking}>
          {checking ? 'Checking…' : 'Check again'}
        </button>{' '}
        <small role="status" data-testid="chain-checked">
          {chain.status === 'ok' && !checking ? `${runs > 1 ? 'Checked again' : 'Checked'} at ${clock.format(chain.data.at)}` : null}
        </small>
      </div>
      <form
        className="filters"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        {field('action', 'Action', 'text', 'e.g. key.revoke')}
        {field('targetType', 'Target type', 'text', 'consumer, key, plan, …')}
        {field('targetId', 'Target id')}
        {field('actorKeyId', 'Actor key id')}
        {field('from', 'From (your time zone)', 'datetime-local')}
        {field('to', 'To (your time zone)', 'datetime-local')}
        <div className="buttons">
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
      <DataTable<Entry>
        paged={paged}
        label="Audit log"
        rowKey={(e) => e.id}
        empty="No audit entries match."
        columns={[
          { header: '#', className: 'num', cell: (e) => e.seq },
          { header: 'When', className: 'nowrap', cell: (e) => <Time value={e.at} /> },
          { header: 'Action', className: 'nowrap', cell: (e) => <code>{e.action}</code> },
          { header: 'Target', className: 'wrap', cell: target },
          {
            header: 'By',
            className: 'wrap',
            cell: (e) => (e.actorKeyId ? <NameLink kind="key" id={e.actorKeyId} named={keys.names.get(e.actorKeyId)} done={keys.done} /> : 'system'),
          },
          {
            header: 'From',
            className: 'wrap',
            cell: (e) => (
              <>
                {e.ip ?? '—'}
                {e.requestId ? (
                  <small className="id" title="Request id">
                    <br />
                    {e.requestId}
                  </small>
                ) : null}
              </>
            ),
          },
          {
            header: 'Change',
            className: 'change',
            cell: (e) => (
              <details>
                <summary>before / after</summary>
                <pre className="json">{JSON.stringify({ before: e.before, after: e.after }, null, 2)}</pre>
              </details>
            ),
          },
        ]}
      />
    </section>
  );
}
