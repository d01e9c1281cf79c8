import { api, call } from '../api';
import { TimeChart } from '../chart';
import { Empty, Show } from '../components';
import { formatNumber, Time } from '../format';
import { useLoad } from '../hooks';
import { href } from '../router';
import { useSession } from '../session';
import { DataTable } from '../table';
import { bucketStarts, rangeOf } from '../usage';

export function Overview() {
  const { can } = useSession();
  if (!can('usage:read')) {
    return (
      <section>
        <h1>Overview</h1>
        <Empty>The overview needs the usage:read scope; use the menu for what your key may see.</Empty>
      </section>
    );
  }
  return <OverviewWithStats />;
}

function OverviewWithStats() {
  const [stats] = useLoad(() => call(api.GET('/v1/admin/stats')), []);
  const [traffic] = useLoad(async () => {
    const { from, to } = rangeOf('hour');
    const report = await call(api.GET('/v1/admin/usage', { params: { query: { from, to, granularity: 'hour', metric: 'requests' } } }));
    return { report, buckets: bucketStarts('hour', from, to) };
  }, []);
  return (
    <section>
      <h1>Overview</h1>
      <Show state={stats}>
        {(s) => (
          <>
            <div className="grid cards">
              <article>
                <header>Consumers</header>
                <p className="big" data-testid="consumers-total">
                  {formatNumber(s.consumers.total)}
                </p>
                <small>
                  {formatNumber(s.consumers.active)} active · {formatNumber(s.consumers.suspended)} suspended
                </small>
              </article>
              <article>
                <header>Keys</header>
                <p className="big">{formatNumber(s.keys.total)}</p>
                <small>
                  {formatNumber(s.keys.active)} active · {formatNumber(s.keys.revoked)} revoked · {formatNumber(s.keys.expired)} expired
                </small>
              </article>
              <article>
                <header>Requests, last 24 h</header>
                <p className="big" data-testid="requests-24h">
                  {formatNumber(s.requestsLast24h.total)}
                </p>
                <small>
                  {formatNumber(s.requestsLast24h.live)} live · {formatNumber(s.requestsLast24h.test)} test
                </small>
              </article>
            </div>
            {s.webhookEndpointsFailing.length ? (
              <article role="note" className="error-box" data-testid="webhooks-failing">
                <strong>Webhook endpoints failing:</strong>{' '}
                {s.webhookEndpointsFailing.map((e, i) => (
                  <span key={e.id}>
                    {i ? ', ' : null}
                    <a href={href('webhooks', e.id)}>{e.url}</a> {e.enabled ? <>since <Time value={e.failingSince} /></> : '(disabled)'}
                  </span>
                ))}
              </article>
            ) : null}
          </>
        )}
      </Show>
      <Show state={traffic}>
        {({ report, buckets }) => (
          <TimeChart title="Requests per hour, last 24 hours" series={[{ label: 'requests', color: '#0172ad', points: report.series.flatMap((s) => s.points) }]} buckets={buckets} />
        )}
      </Show>
      <Show state={stats}>
        {(s) => (
          <div className="grid">
            <section>
              <h2>Top consumers (today and yesterday, UTC)</h2>
              <DataTable<(typeof s.topConsumers)[number]>
                rows={s.topConsumers}
                striped={false}
                rowKey={(c) => c.consumerId}
                empty="No traffic today or yesterday."
                columns={[
                  { header: 'Consumer', className: 'wrap', cell: (c) => <a href={href('consumers', c.consumerId)} title={c.consumerId}>{c.name ?? c.consumerId}</a> },
                  { header: 'Requests', className: 'num', cell: (c) => formatNumber(c.requests) },
                ]}
              />
            </section>
            <section>
              <h2>Keys expiring soon ({s.keysExpiringSoon.count})</h2>
              <KeyList keys={s.keysExpiringSoon.keys} column="expiresAt" empty="No key expires in the next days." />
              <h2>Keys never or long unused ({s.keysUnused.count})</h2>
              <KeyList keys={s.keysUnused.keys} column="lastUsedAt" empty="Every key was used recently." />
            </section>
          </div>
        )}
      </Show>
    </section>
  );
}

function KeyList({
  keys,
  column,
  empty,
}: {
  keys: { id: string; name: string; start: string; expiresAt: string | null; lastUsedAt: string | null }[];
  column: 'expiresAt' | 'lastUsedAt';
  empty: string;
}) {
  return (
    <DataTable<(typeof keys)[number]>
      rows={keys}
      striped={false}
      rowKey={(k) => k.id}
      empty={empty}
      columns={[
        {
          header: 'Key',
          className: 'wrap',
          cell: (k) => (
            <>
              <a href={href('keys', k.id)} title={k.id}>
                {k.name}
              </a>{' '}
              <code>{k.start}…</code>
            </>
          ),
        },
        { header: column === 'expiresAt' ? 'Expires' : 'Last used', className: 'nowrap', cell: (k) => <Time value={k[column]} empty="never" /> },
      ]}
    />
  );
}
