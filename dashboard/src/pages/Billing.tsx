import { useState } from 'react';
import { api, call, type ListQuery, unwrap } from '../api';
import { ConfirmButton, Empty, ErrorBox, Pager, Show } from '../components';
import { formatMoney, Status, Time } from '../format';
import { useAction, usePaged } from '../hooks';
import { href } from '../router';
import { useSession } from '../session';
import { InvoiceTable } from './Consumer';

type Format = 'csv' | 'json' | 'ndjson';

function thisMonth(): string {
  const d = new Date();
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function Billing() {
  const { can } = useSession();
  const [status, setStatus] = useState<'' | 'open' | 'closed'>('');
  const [month, setMonth] = useState('');
  const [consumerId, setConsumerId] = useState('');
  const [openPeriod, setOpenPeriod] = useState<string | null>(null);
  const paged = usePaged(
    (cursor) => {
      const query: ListQuery<'/v1/admin/billing/periods'> = { limit: 20, cursor };
      if (status) query.status = status;
      if (month) query.period = month;
      if (consumerId.trim()) query.consumerId = consumerId.trim();
      return call(api.GET('/v1/admin/billing/periods', { params: { query } }));
    },
    [status, month, consumerId],
  );
  const action = useAction();
  const canClose = can('billing:write');

  return (
    <section>
      <h1>Billing</h1>
      <Export />
      <h2>Periods</h2>
      <form className="filters" aria-label="Filter periods" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="period-status">
          Status
          <select
            id="period-status"
            value={status}
            onChange={(e) => {
              const v = e.target.value;
              setStatus(v === 'open' || v === 'closed' ? v : '');
            }}
          >
            <option value="">Any</option>
            <option value="open">Open</option>
            <option value="closed">Closed</option>
          </select>
        </label>
        <label htmlFor="period-month">
          Starting in (UTC month)
          <input id="period-month" type="month" value={month} onChange={(e) => setMonth(e.target.value)} />
        </label>
        <label htmlFor="period-consumer">
          Consumer id
          <input id="period-consumer" value={consumerId} onChange={(e) => setConsumerId(e.target.value)} placeholder="cons_…" />
        </label>
      </form>
      {action.error ? <ErrorBox error={action.error} /> : null}
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No billing periods match.</Empty>
          ) : (
            <table className="striped">
              <thead>
                <tr>
                  <th scope="col">Consumer</th>
                  <th scope="col">Period</th>
                  <th scope="col">Plan</th>
                  <th scope="col">Status</th>
                  <th scope="col">Total</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((p) => (
                  <tr key={p.id} data-period={p.id}>
                    <td>
                      <a href={href('consumers', p.consumerId)}>
                        <code>{p.consumerId}</code>
                      </a>
                    </td>
                    <td>
                      <Time value={p.start} /> – <Time value={p.end} />
                    </td>
                    <td>{p.plan?.name ?? '—'}</td>
                    <td>
                      <Status value={p.status} />
                    </td>
                    <td>
                      {formatMoney(p.invoice.totalMinor, p.invoice.currency)}
                      {p.status === 'open' ? <small> (estimate)</small> : null}
                    </td>
                    <td className="row-actions">
                      <button type="button" className="secondary outline small" onClick={() => setOpenPeriod(openPeriod === p.id ? null : p.id)} aria-expanded={openPeriod === p.id}>
                        Lines
                      </button>
                      {p.status === 'open' ? (
                        <ConfirmButton
                          label="Close"
                          className="secondary small"
                          title="Close this billing period?"
                          confirmLabel="Close the period"
                          disabled={!canClose}
                          disabledReason="Your key lacks the billing:write scope"
                          onConfirm={async () => {
                            if (await action.run(() => call(api.POST('/v1/admin/billing/periods/{id}/close', { params: { path: { id: p.id } } })))) paged.reload();
                          }}
                        >
                          <p>
                            The invoice is computed from the usage inside the period and never changes afterwards. Usage reported later for this period is refused
                            (<code>PERIOD_CLOSED</code>); metered requests that arrive after the close are carried into the next period.
                          </p>
                        </ConfirmButton>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      {openPeriod && paged.state.status === 'ok'
        ? paged.state.data.data
            .filter((p) => p.id === openPeriod)
            .map((p) => (
              <article key={p.id}>
                <header>
                  Lines of <code>{p.id}</code>
                </header>
                <InvoiceTable invoice={p.invoice} />
              </article>
            ))
        : null}
      <Pager paged={paged} label="Periods" />
    </section>
  );
}

/** Downloads an export through the API (with the key as a header), then saves it as a file. */
function Export() {
  const [month, setMonth] = useState(thisMonth());
  const [format, setFormat] = useState<Format>('csv');
  const action = useAction();
  return (
    <article>
      <header>
        <h2>Export</h2>
      </header>
      <form
        aria-label="Export billing"
        onSubmit={async (e) => {
          e.preventDefault();
          await action.run(async () => {
            const result = await api.GET('/v1/admin/billing/export', { params: { query: { period: month, format } }, parseAs: 'blob' });
            const blob = unwrap(result);
            const url = URL.createObjectURL(blob);
            const a = document.createElement('a');
            a.href = url;
            a.download = fileName(result.response.headers.get('content-disposition')) ?? `tollgate-billing-${month}.${format}`;
            document.body.append(a);
            a.click();
            a.remove();
            setTimeout(() => URL.revokeObjectURL(url), 10_000);
          });
        }}
      >
        <fieldset disabled={action.busy}>
          <div className="grid">
            <label htmlFor="export-month">
              Periods starting in (UTC month)
              <input id="export-month" type="month" required value={month} onChange={(e) => setMonth(e.target.value)} />
            </label>
            <label htmlFor="export-format">
              Format
              <select id="export-format" value={format} onChange={(e) => setFormat(e.target.value === 'json' ? 'json' : e.target.value === 'ndjson' ? 'ndjson' : 'csv')}>
                <option value="csv">CSV</option>
                <option value="json">JSON (one array)</option>
                <option value="ndjson">NDJSON (one row per line)</option>
              </select>
            </label>
          </div>
          <button type="submit" aria-busy={action.busy}>
            Download
          </button>
        </fieldset>
        {action.error ? <ErrorBox error={action.error} /> : null}
      </form>
    </article>
  );
}

function fileName(disposition: string | null): string | null {
  const m = disposition ? /filename="?([^";]+)"?/.exec(disposition) : null;
  return m ? m[1] : null;
}
