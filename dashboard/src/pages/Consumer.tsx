import { useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { TimeChart } from '../chart';
import { Empty, ErrorBox, Show } from '../components';
import { formatMoney, keyStatus, Status, Time, timeUntil } from '../format';
import { useAction, useLoad, usePaged } from '../hooks';
import { CreateKeyForm } from '../keyform';
import { forgetName, useNames, usePlans } from '../lookups';
import { InvoiceTable } from '../parts/invoice';
import { SuspendResume } from '../parts/suspend-resume';
import { href } from '../router';
import { useSession } from '../session';
import { DataTable } from '../table';
import { bucketStarts, GranularitySwitch, PALETTE, rangeOf, RANGES, useGranularity } from '../usage';

type ApiKey = Schemas['ApiKeyDto'];
type Period = Schemas['BillingPeriodDto'];

export function ConsumerPage({ id }: { id: string }) {
  const { can } = useSession();
  const [consumer, reload] = useLoad(() => call(api.GET('/v1/admin/consumers/{id}', { params: { path: { id } } })), [id]);
  const action = useAction();
  return (
    <Show state={consumer}>
      {(c) => (
        <section>
          <nav aria-label="breadcrumb">
            <ul>
              <li>
                <a href={href('consumers')}>Consumers</a>
              </li>
              <li>{c.name}</li>
            </ul>
          </nav>
          <hgroup>
            <h1>{c.name}</h1>
            <p>
              <code>{c.id}</code> <Status value={c.status} /> {c.externalId ? <>· external id {c.externalId}</> : null} · created <Time value={c.createdAt} />
            </p>
          </hgroup>
          <p>
            <SuspendResume consumer={c} disabled={!can('consumers:write') || action.busy} onDone={reload} run={action.run} />
          </p>
          {action.error ? <ErrorBox error={action.error} /> : null}
          <ConsumerSettings consumer={c} onSaved={reload} />
          <ConsumerKeys consumerId={c.id} />
          {can('usage:read') ? <ConsumerUsage consumerId={c.id} /> : null}
          {can('billing:read') ? <ConsumerBilling consumerId={c.id} /> : null}
        </section>
      )}
    </Show>
  );
}

function ConsumerSettings({ consumer, onSaved }: { consumer: Schemas['ConsumerDto']; onSaved: () => void }) {
  const { can } = useSession();
  const [plans] = usePlans();
  const [planId, setPlanId] = useState(consumer.planId ?? '');
  const [name, setName] = useState(consumer.name);
  const action = useAction();
  const allowed = can('consumers:write');
  return (
    <form
      className="settings"
      aria-label="Consumer settings"
      onSubmit={async (e) => {
        e.preventDefault();
        const body: Schemas['UpdateConsumerDto'] = { name: name.trim(), planId: planId || null };
        if (await action.run(() => call(api.PATCH('/v1/admin/consumers/{id}', { params: { path: { id: consumer.id } }, body })))) {
          forgetName('consumer', consumer.id);
          onSaved();
        }
      }}
    >
      <fieldset disabled={!allowed || action.busy}>
        <div className="grid">
          <label htmlFor="consumer-name">
            Name
            <input id="consumer-name" required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label htmlFor="consumer-plan">
            Plan
            <select id="consumer-plan" value={planId} onChange={(e) => setPlanId(e.target.value)}>
              <option value="">No plan</option>
              {plans.status === 'ok'
                ? plans.data.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.name} ({p.currency})
                    </option>
                  ))
                : null}
              {consumer.planId && plans.status === 'ok' && !plans.data.some((p) => p.id === consumer.planId) ? <option value={consumer.planId}>{consumer.planId}</option> : null}
            </select>
          </label>
        </div>
        <button type="submit" className="secondary" aria-busy={action.busy} title={allowed ? undefined : 'Your key lacks the consumers:write scope'}>
          Save
        </button>
      </fieldset>
      {action.error ? <ErrorBox error={action.error} /> : null}
    </form>
  );
}

function ConsumerKeys({ consumerId }: { consumerId: string }) {
  const { can } = useSession();
  const [status, setStatus] = useState<'' | 'active' | 'revoked' | 'expired'>('');
  const paged = usePaged(
    (cursor) => {
      if (!can('keys:read')) return Promise.resolve({ data: [], nextCursor: null });
      const query: ListQuery<'/v1/admin/consumers/{consumerId}/keys'> = { limit: 20, cursor };
      if (status) query.status = status;
      return call(api.GET('/v1/admin/consumers/{consumerId}/keys', { params: { path: { consumerId }, query } }));
    },
    [consumerId, status],
  );
  return (
    <section>
      <h2>Keys</h2>
      {can('keys:write') ? (
        <details className="create">
          <summary role="button" className="outline">
            New key
          </summary>
          <CreateKeyForm consumerId={consumerId} onCreated={paged.reload} />
        </details>
      ) : (
        <p>
          <button type="button" disabled>
            New key
          </button>{' '}
          <small>Your key lacks the keys:write scope.</small>
        </p>
      )}
      {!can('keys:read') ? (
        <Empty>Your key lacks the keys:read scope.</Empty>
      ) : (
        <>
        <label htmlFor="key-status-filter" className="inline">
          Status
          <select
            id="key-status-filter"
            value={status}
            onChange={(e) => {
              const v = e.target.value;
              setStatus(v === 'active' || v === 'revoked' || v === 'expired' ? v : '');
            }}
          >
            <option value="">Any</option>
            <option value="active">Active</option>
            <option value="revoked">Revoked</option>
            <option value="expired">Expired</option>
          </select>
        </label>
        <DataTable<ApiKey>
          paged={paged}
          label="Keys"
          rowKey={(k) => k.id}
          empty={`No keys${status ? ` with status ${status}` : ''}.`}
          columns={[
            { header: 'Name', className: 'wrap', cell: (k) => <KeyName k={k} page={paged.state.status === 'ok' ? paged.state.data.data : []} /> },
            { header: 'Key', className: 'nowrap', cell: (k) => <code>{k.start}…</code> },
            { header: 'Kind', cell: (k) => `${k.kind} · ${k.environment}` },
            { header: 'Status', cell: (k) => <Status value={keyStatus(k)} /> },
            { header: 'Last used', className: 'nowrap', cell: (k) => <Time value={k.lastUsedAt} empty="never" /> },
            { header: 'Expires', className: 'nowrap', cell: (k) => <Expiry k={k} /> },
          ]}
        />
        </>
      )}
    </section>
  );
}

function ConsumerUsage({ consumerId }: { consumerId: string }) {
  const [granularity, setGranularity] = useGranularity('hour');
  const [usage] = useLoad(async () => {
    const { from, to } = rangeOf(granularity);
    const report = await call(api.GET('/v1/admin/usage', { params: { query: { consumerId, from, to, granularity, groupBy: 'metric' } } }));
    return { report, buckets: bucketStarts(granularity, from, to) };
  }, [consumerId, granularity]);
  return (
    <section>
      <h2>Usage</h2>
      <GranularitySwitch value={granularity} onChange={setGranularity} idPrefix="consumer-usage" />
      <Show state={usage}>
        {({ report: u, buckets }) =>
          u.series.length === 0 ? (
            <Empty>No usage in the {RANGES[granularity].label.split(',')[0]}.</Empty>
          ) : (
            u.series.map((s, i) => (
              <TimeChart key={s.metric} title={`${s.metric}, ${RANGES[granularity].label}`} series={[{ label: s.metric, color: PALETTE[i % PALETTE.length], points: s.points }]} buckets={buckets} />
            ))
          )
        }
      </Show>
    </section>
  );
}

/**
 * A key's name, and which key of a rotation it is: two keys share a name after a rotation and would
 * otherwise differ only by their first characters.
 */
function KeyName({ k, page }: { k: ApiKey; page: readonly ApiKey[] }) {
  const replacement = page.find((other) => other.rotatedFromId === k.id);
  const previous = k.rotatedFromId ? page.find((other) => other.id === k.rotatedFromId) : undefined;
  const { names } = useNames('key', k.rotatedFromId && !previous ? [k.rotatedFromId] : []);
  const previousStart = previous?.start ?? (k.rotatedFromId ? names.get(k.rotatedFromId)?.start : undefined);
  return (
    <>
      <a href={href('keys', k.id)} title={k.id}>
        {k.name}
      </a>
      {k.rotatedFromId ? (
        <small className="rotation" data-testid="rotated-from">
          {' '}
          rotated from <a href={href('keys', k.rotatedFromId)}>{previousStart ? <code>{previousStart}…</code> : 'the previous key'}</a>
        </small>
      ) : null}
      {replacement ? (
        <small className="rotation" data-testid="replaced-by">
          {' '}
          replaced by <code>{replacement.start}…</code>
        </small>
      ) : null}
    </>
  );
}

/** When a key stops working; within two days also how soon ("expires in 23 h"), as during a rotation's grace. */
function Expiry({ k }: { k: ApiKey }) {
  if (!k.expiresAt || k.revokedAt) return <Time value={k.expiresAt} empty="never" />;
  const left = new Date(k.expiresAt).getTime() - Date.now();
  return (
    <>
      <Time value={k.expiresAt} />
      {left > 0 && left < 48 * 3600_000 ? <small className="soon"> expires {timeUntil(k.expiresAt)}</small> : null}
    </>
  );
}

function ConsumerBilling({ consumerId }: { consumerId: string }) {
  const [open] = useLoad(() => {
    const query: ListQuery<'/v1/admin/billing/periods'> = { consumerId, status: 'open', limit: 1 };
    return call(api.GET('/v1/admin/billing/periods', { params: { query } }));
  }, [consumerId]);
  const invoices = usePaged(
    (cursor) => {
      const query: ListQuery<'/v1/admin/billing/periods'> = { consumerId, status: 'closed', limit: 10, cursor };
      return call(api.GET('/v1/admin/billing/periods', { params: { query } }));
    },
    [consumerId],
  );
  return (
    <section>
      <h2>Open period estimate</h2>
      <Show state={open}>
        {(page) => {
          const period = page.data[0];
          if (!period) return <Empty>No open billing period.</Empty>;
          return (
            <article data-testid="estimate">
              <header>
                <Time value={period.start} /> – <Time value={period.end} /> · plan {period.plan?.name ?? 'none'}
              </header>
              <InvoiceTable invoice={period.invoice} />
            </article>
          );
        }}
      </Show>
      <h2>Invoices</h2>
      <DataTable<Period>
        paged={invoices}
        label="Invoices"
        rowKey={(p) => p.id}
        empty="No closed periods yet."
        columns={[
          {
            header: 'Period',
            className: 'nowrap',
            cell: (p) => (
              <>
                <Time value={p.start} /> – <Time value={p.end} />
              </>
            ),
          },
          { header: 'Closed', className: 'nowrap', cell: (p) => <Time value={p.closedAt} /> },
          { header: 'Total', className: 'num', cell: (p) => formatMoney(p.invoice.totalMinor, p.invoice.currency) },
        ]}
      />
    </section>
  );
}
