import { useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { TimeChart } from '../chart';
import { Empty, ErrorBox, Pager, Show } from '../components';
import { formatMoney, formatNumber, keyStatus, Status, Time } from '../format';
import { useAction, useLoad, usePaged } from '../hooks';
import { CreateKeyForm } from '../keyform';
import { href } from '../router';
import { useSession } from '../session';
import { bucketStarts, GranularitySwitch, PALETTE, rangeOf, RANGES, useGranularity } from '../usage';
import { SuspendResume, usePlans } from './Consumers';

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
        if (await action.run(() => call(api.PATCH('/v1/admin/consumers/{id}', { params: { path: { id: consumer.id } }, body })))) onSaved();
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
        <Show state={paged.state}>
          {(page) =>
            page.data.length === 0 ? (
              <Empty>No keys{status ? ` with status ${status}` : ''}.</Empty>
            ) : (
              <table className="striped">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Key</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Status</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Expires</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((k) => (
                    <tr key={k.id}>
                      <td>
                        <a href={href('keys', k.id)}>{k.name}</a>
                      </td>
                      <td>
                        <code>{k.start}…</code>
                      </td>
                      <td>
                        {k.kind} · {k.environment}
                      </td>
                      <td>
                        <Status value={keyStatus(k)} />
                      </td>
                      <td>
                        <Time value={k.lastUsedAt} empty="never" />
                      </td>
                      <td>
                        <Time value={k.expiresAt} empty="never" />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Show>
        </>
      )}
      <Pager paged={paged} label="Keys" />
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

export function InvoiceTable({ invoice }: { invoice: Schemas['InvoiceDto'] }) {
  if (invoice.lines.length === 0) return <Empty>Nothing billed: the consumer has no plan, or the plan prices nothing.</Empty>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Line</th>
          <th scope="col">Quantity</th>
          <th scope="col">Included</th>
          <th scope="col">Billable</th>
          <th scope="col">Unit price</th>
          <th scope="col">Amount</th>
        </tr>
      </thead>
      <tbody>
        {invoice.lines.map((l, i) => (
          <tr key={`${l.metric}-${i}`}>
            <td>{l.type === 'base_fee' ? 'Base fee' : l.metric}</td>
            <td>{formatNumber(l.quantity)}</td>
            <td>{formatNumber(l.included)}</td>
            <td>{formatNumber(l.billable)}</td>
            <td>{l.unitPrice ?? (l.tiers?.length ? `${l.tiers.length} tiers` : '—')}</td>
            <td>{formatMoney(l.amountMinor, invoice.currency)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={5}>
            Total
          </th>
          <td data-testid="invoice-total">{formatMoney(invoice.totalMinor, invoice.currency)}</td>
        </tr>
      </tfoot>
    </table>
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
      <Show state={invoices.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No closed periods yet.</Empty>
          ) : (
            <table className="striped">
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col">Invoice</th>
                  <th scope="col">Closed</th>
                  <th scope="col">Total</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <Time value={p.start} /> – <Time value={p.end} />
                    </td>
                    <td>
                      <code>{p.invoice.id ?? '—'}</code>
                    </td>
                    <td>
                      <Time value={p.closedAt} />
                    </td>
                    <td>{formatMoney(p.invoice.totalMinor, p.invoice.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={invoices} label="Invoices" />
    </section>
  );
}
