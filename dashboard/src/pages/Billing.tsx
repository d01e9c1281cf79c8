import { useState } from 'react';
import { api, call, type ListQuery, type Schemas, unwrap } from '../api';
import { ConfirmButton, ErrorBox } from '../components';
import { formatMoney, Status, Time } from '../format';
import { useAction, usePaged } from '../hooks';
import { NameLink, useNames } from '../lookups';
import { ConsumerPicker } from '../parts/consumer-picker';
import { InvoiceTable } from '../parts/invoice';
import { useSession } from '../session';
import { DataTable } from '../table';

type Period = Schemas['BillingPeriodDto'];

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
  const rows = paged.state.status === 'ok' ? paged.state.data.data : [];
  const consumers = useNames('consumer', rows.map((p) => p.consumerId));

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
        <ConsumerPicker label="Consumer" value={consumerId} onChange={setConsumerId} />
      </form>
      {action.error ? <ErrorBox error={action.error} /> : null}
      <DataTable<Period>
        paged={paged}
        label="Periods"
        rowKey={(p) => p.id}
        rowProps={(p) => ({ 'data-period': p.id })}
        empty="No billing periods match."
        columns={[
          { header: 'Consumer', className: 'wrap', cell: (p) => <NameLink kind="consumer" id={p.consumerId} named={consumers.names.get(p.consumerId)} done={consumers.done} /> },
          {
            header: 'Period',
            className: 'nowrap',
            cell: (p) => (
              <>
                <Time value={p.start} /> – <Time value={p.end} />
              </>
            ),
          },
          { header: 'Plan', cell: (p) => p.plan?.name ?? '—' },
          { header: 'Status', cell: (p) => <Status value={p.status} /> },
          {
            header: 'Total',
            className: 'num',
            cell: (p) => (
              <>
                {formatMoney(p.invoice.totalMinor, p.invoice.currency)}
                {p.status === 'open' ? <small> (estimate)</small> : null}
              </>
            ),
          },
          {
            header: 'Actions',
            hiddenHeader: true,
            className: 'row-actions',
            cell: (p) => (
              <>
                <button type="button" className="secondary outline small" onClick={() => setOpenPeriod(openPeriod === p.id ? null : p.id)} aria-expanded={openPeriod === p.id}>
                  {openPeriod === p.id ? 'Hide lines' : 'Show lines'}
                </button>
                {p.status === 'open' ? (
                  <ConfirmButton
                    label="Close period…"
                    className="secondary small"
                    title={`Close the period of ${consumers.names.get(p.consumerId)?.name ?? 'this consumer'}?`}
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
              </>
            ),
          },
        ]}
      />
      {openPeriod && paged.state.status === 'ok'
        ? paged.state.data.data
            .filter((p) => p.id === openPeriod)
            .map((p) => (
              <article key={p.id}>
                <header>
                  Lines of {consumers.names.get(p.consumerId)?.name ?? 'the period'}, <Time value={p.start} /> – <Time value={p.end} />
                </header>
                <InvoiceTable invoice={p.invoice} />
              </article>
            ))
        : null}
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
