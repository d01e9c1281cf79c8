import { useState } from 'react';
import { api, call, type Schemas } from '../api';
import { type ChartSeries, TimeChart } from '../chart';
import { ConfirmButton, ErrorBox, SecretOnce, Show } from '../components';
import { formatNumber, keyStatus, Status, Time, timeUntil } from '../format';
import { useAction, useLoad } from '../hooks';
import { isoFromLocal, listOf, type CreatedKey } from '../keyform';
import { forgetName, useNames } from '../lookups';
import { type LimitDraft, limitDrafts, LimitRows, limitsOf } from '../parts/limit-rows';
import { href } from '../router';
import { useSession } from '../session';
import { DataTable } from '../table';
import { bucketStarts, GranularitySwitch, rangeOf, RANGES, useGranularity } from '../usage';

type ApiKey = Schemas['ApiKeyDto'];
type Outcome = Schemas['KeyOutcome'];
type OutcomeTotal = Schemas['KeyOutcomeTotalDto'];

/** How the key page groups outcomes, the way Unkey's verification chart does. */
const GROUPS: { label: string; color: string; outcomes: readonly Outcome[] }[] = [
  { label: 'valid', color: '#2a7b3f', outcomes: ['VALID'] },
  { label: 'rate-limited', color: '#c15a00', outcomes: ['RATE_LIMIT_EXCEEDED'] },
  { label: 'quota-exceeded', color: '#9236a4', outcomes: ['QUOTA_EXCEEDED'] },
  {
    label: 'refused',
    color: '#d93526',
    outcomes: ['KEY_REVOKED', 'KEY_EXPIRED', 'CONSUMER_SUSPENDED', 'IP_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED', 'INSUFFICIENT_PERMISSIONS'],
  },
];

export function KeyPage({ id }: { id: string }) {
  const { can } = useSession();
  const [key, reload] = useLoad(() => call(api.GET('/v1/admin/keys/{id}', { params: { path: { id } } })), [id]);
  const [rotated, setRotated] = useState<CreatedKey | null>(null);
  const consumerId = key.status === 'ok' ? key.data.consumerId : null;
  const { names: consumers, done } = useNames('consumer', [consumerId]);
  return (
    <Show state={key}>
      {(k) => (
        <section>
          <nav aria-label="breadcrumb">
            <ul>
              {k.consumerId ? (
                <>
                  <li>
                    <a href={href('consumers')}>Consumers</a>
                  </li>
                  <li>
                    <a href={href('consumers', k.consumerId)} title={k.consumerId}>
                      {done ? (consumers.get(k.consumerId)?.name ?? 'Consumer') : '…'}
                    </a>
                  </li>
                </>
              ) : (
                <li>Admin keys</li>
              )}
              <li>{k.name}</li>
            </ul>
          </nav>
          <hgroup>
            <h1>{k.name}</h1>
            <p>
              <code>{k.start}…</code> · <code>{k.id}</code> · {k.kind} · {k.environment} · <Status value={keyStatus(k)} />
            </p>
          </hgroup>
          {rotated ? (
            <div>
              <SecretOnce label={`Replacement key (${rotated.start}…)`} value={rotated.key} onDismiss={() => setRotated(null)}>
                <a href={href('keys', rotated.id)}>Open the new key</a>
              </SecretOnce>
            </div>
          ) : null}
          <KeyFacts k={k} />
          {can('keys:write') && !k.revokedAt ? (
            <KeyActions k={k} onChanged={reload} onRotated={setRotated} />
          ) : !can('keys:write') ? (
            <p>
              <small>Your key lacks the keys:write scope: it cannot change, rotate or revoke keys.</small>
            </p>
          ) : null}
          {can('usage:read') ? <KeyTraffic keyId={k.id} /> : null}
          {can('keys:write') && !k.revokedAt ? <EditKey k={k} onSaved={reload} /> : null}
        </section>
      )}
    </Show>
  );
}

function KeyFacts({ k }: { k: ApiKey }) {
  return (
    <dl className="facts">
      <dt>Scopes</dt>
      <dd>{k.scopes.length ? k.scopes.map((s) => <code key={s}>{s}</code>) : 'none'}</dd>
      <dt>Created</dt>
      <dd>
        <Time value={k.createdAt} />
      </dd>
      <dt>Last used</dt>
      <dd>
        <Time value={k.lastUsedAt} empty="never" />
      </dd>
      <dt>Expires</dt>
      <dd>
        <Time value={k.expiresAt} empty="never" />
        {k.expiresAt && !k.revokedAt && new Date(k.expiresAt).getTime() > Date.now() ? <small> ({timeUntil(k.expiresAt)})</small> : null}
      </dd>
      {k.revokedAt ? (
        <>
          <dt>Revoked</dt>
          <dd>
            <Time value={k.revokedAt} />
          </dd>
        </>
      ) : null}
      <dt>Allowed IPs</dt>
      <dd>{k.allowedIps.length ? k.allowedIps.join(', ') : 'any'}</dd>
      {k.kind === 'publishable' ? (
        <>
          <dt>Allowed origins</dt>
          <dd>{k.allowedOrigins.join(', ')}</dd>
        </>
      ) : null}
      <dt>Own rate limits</dt>
      <dd>{k.rateLimits.length ? k.rateLimits.map((r) => `${r.name}: ${formatNumber(r.limit)} per ${r.windowSeconds} s`).join('; ') : 'none (the plan’s apply)'}</dd>
      {k.rotatedFromId ? (
        <>
          <dt>Rotated from</dt>
          <dd>
            <RotatedFrom id={k.rotatedFromId} />
          </dd>
        </>
      ) : null}
    </dl>
  );
}

function RotatedFrom({ id }: { id: string }) {
  const { names, done } = useNames('key', [id]);
  const old = names.get(id);
  return (
    <a href={href('keys', id)} title={id}>
      {!done ? '…' : old ? <>{old.name} <code>{old.start}…</code></> : <code>{id}</code>}
    </a>
  );
}

function KeyActions({ k, onChanged, onRotated }: { k: ApiKey; onChanged: () => void; onRotated: (key: CreatedKey) => void }) {
  const [graceHours, setGraceHours] = useState('0');
  const action = useAction();
  return (
    <section className="actions">
      <h2>Rotate or revoke</h2>
      <div className="grid">
        <div>
          <label htmlFor="grace-hours">
            Grace period for the old key (hours, 0–168)
            <input id="grace-hours" type="number" min={0} max={168} step="any" value={graceHours} onChange={(e) => setGraceHours(e.target.value)} />
          </label>
          <ConfirmButton
            label="Rotate…"
            title={`Rotate “${k.name}”?`}
            confirmLabel="Rotate the key"
            disabled={action.busy}
            onConfirm={async () => {
              const body: Schemas['RotateKeyDto'] = { gracePeriodSeconds: Math.round(Number(graceHours) * 3600) };
              const created = await action.run(() => call(api.POST('/v1/admin/keys/{id}/rotate', { params: { path: { id: k.id } }, body })));
              if (created) {
                onRotated(created);
                onChanged();
              }
            }}
          >
            <p>
              A new key replaces <code>{k.start}…</code>; its plaintext is shown once.{' '}
              {Number(graceHours) > 0 ? (
                <>
                  The old key keeps working for {graceHours} hours, then is refused with 401 <code>KEY_EXPIRED</code>.
                </>
              ) : (
                <>
                  The old key stops working now (401 <code>KEY_EXPIRED</code>): every client must switch at once.
                </>
              )}
            </p>
          </ConfirmButton>
        </div>
        <div>
          <p>Revoking rejects the key everywhere within a second. It cannot be undone.</p>
          <ConfirmButton
            label="Revoke…"
            className="contrast"
            title={`Revoke “${k.name}”?`}
            confirmLabel="Revoke the key"
            onConfirm={async () => {
              if (await action.run(() => call(api.POST('/v1/admin/keys/{id}/revoke', { params: { path: { id: k.id } } })))) onChanged();
            }}
          >
            <p>
              Requests with <code>{k.start}…</code> will be refused with 401 <code>KEY_REVOKED</code>.
            </p>
          </ConfirmButton>
        </div>
      </div>
      {action.error ? <ErrorBox error={action.error} /> : null}
    </section>
  );
}

function KeyTraffic({ keyId }: { keyId: string }) {
  const [granularity, setGranularity] = useGranularity('minute');
  const [outcomes, reload] = useLoad(async () => {
    const { from, to } = rangeOf(granularity);
    const report = await call(api.GET('/v1/admin/usage/outcomes', { params: { query: { keyId, from, to, granularity } } }));
    return { report, buckets: bucketStarts(granularity, from, to) };
  }, [keyId, granularity]);
  return (
    <section>
      <h2>Traffic by outcome</h2>
      <GranularitySwitch value={granularity} onChange={setGranularity} idPrefix="key-traffic" />
      <button type="button" className="secondary outline small" onClick={reload}>
        Refresh
      </button>
      <Show state={outcomes}>
        {({ report, buckets }) => {
          const series: ChartSeries[] = GROUPS.map((g) => ({
            label: g.label,
            color: g.color,
            points: mergePoints(report.series.filter((s) => g.outcomes.includes(s.outcome)).flatMap((s) => s.points)),
          }));
          return (
            <>
              <TimeChart title={`Requests with this key, ${RANGES[granularity].label}`} series={series} buckets={buckets} />
              <DataTable<OutcomeTotal>
                rows={report.totals}
                striped={false}
                testId="outcome-totals"
                caption="By outcome"
                rowKey={(t) => t.outcome}
                rowProps={(t) => ({ 'data-outcome': t.outcome })}
                empty="No requests with this key in this range."
                columns={[
                  { header: 'Outcome', cell: (t) => <code>{t.outcome}</code> },
                  { header: 'Requests', className: 'num', cell: (t) => formatNumber(t.quantity) },
                ]}
              />
            </>
          );
        }}
      </Show>
    </section>
  );
}

function mergePoints(points: { start: string; quantity: number }[]): { start: string; quantity: number }[] {
  const sums = new Map<string, number>();
  for (const p of points) sums.set(p.start, (sums.get(p.start) ?? 0) + p.quantity);
  return [...sums.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([start, quantity]) => ({ start, quantity }));
}

/** A datetime-local value (browser zone) for an ISO instant. */
function localInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function EditKey({ k, onSaved }: { k: ApiKey; onSaved: () => void }) {
  const [name, setName] = useState(k.name);
  const [scopes, setScopes] = useState(k.scopes.join(', '));
  const [expiresAt, setExpiresAt] = useState(localInput(k.expiresAt));
  const [ips, setIps] = useState(k.allowedIps.join(', '));
  const [origins, setOrigins] = useState(k.allowedOrigins.join(', '));
  const [limits, setLimits] = useState<LimitDraft[]>(limitDrafts(k.rateLimits));
  const action = useAction();
  return (
    <section>
      <h2>Settings</h2>
      <form
        aria-label="Key settings"
        onSubmit={async (e) => {
          e.preventDefault();
          const body: Schemas['UpdateKeyDto'] = {
            name: name.trim(),
            scopes: listOf(scopes),
            expiresAt: isoFromLocal(expiresAt),
            allowedIps: listOf(ips),
            rateLimits: limitsOf(limits),
          };
          if (k.kind === 'publishable') body.allowedOrigins = listOf(origins);
          if (await action.run(() => call(api.PATCH('/v1/admin/keys/{id}', { params: { path: { id: k.id } }, body })))) {
            forgetName('key', k.id);
            onSaved();
          }
        }}
      >
        <fieldset disabled={action.busy}>
          <div className="grid">
            <label htmlFor="edit-key-name">
              Name
              <input id="edit-key-name" required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label htmlFor="edit-key-expires">
              Expires (your time zone; empty: never)
              <input id="edit-key-expires" type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
            </label>
          </div>
          <label htmlFor="edit-key-scopes">
            Scopes (comma separated)
            <input id="edit-key-scopes" value={scopes} onChange={(e) => setScopes(e.target.value)} />
          </label>
          <label htmlFor="edit-key-ips">
            Allowed IPs / CIDRs (empty: any)
            <input id="edit-key-ips" value={ips} onChange={(e) => setIps(e.target.value)} />
          </label>
          {k.kind === 'publishable' ? (
            <label htmlFor="edit-key-origins">
              Allowed origins
              <input id="edit-key-origins" value={origins} onChange={(e) => setOrigins(e.target.value)} />
            </label>
          ) : null}
          <LimitRows idPrefix="edit-key" legend="Own rate limits (none: the plan’s apply)" value={limits} onChange={setLimits} />
        </fieldset>
        {action.error ? <ErrorBox error={action.error} /> : null}
        <button type="submit" disabled={action.busy} aria-busy={action.busy}>
          Save key settings
        </button>
      </form>
    </section>
  );
}
