import { useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { Empty, ErrorBox, Pager, Show } from '../components';
import { formatMoney, formatNumber, Time } from '../format';
import { useAction, usePaged } from '../hooks';
import { useSession } from '../session';

type Plan = Schemas['PlanDto'];
type Price = Plan['prices'][number];
type Model = Price['model'];

const MODELS: { value: Model; label: string }[] = [
  { value: 'per_unit', label: 'Per unit' },
  { value: 'package', label: 'Package' },
  { value: 'graduated', label: 'Graduated tiers' },
  { value: 'volume', label: 'Volume tiers' },
];

/** A price as the form edits it: every field as text, whatever the model. */
interface PriceDraft {
  metric: string;
  model: Model;
  unitPrice: string;
  packageSize: string;
  packagePrice: string;
  includedUnits: string;
  /** One tier per line: `upTo unitPrice [flatFee]`, upTo `*` for the last. */
  tiers: string;
}

const blankPrice = (): PriceDraft => ({ metric: 'requests', model: 'per_unit', unitPrice: '', packageSize: '', packagePrice: '', includedUnits: '0', tiers: '' });

function draftOf(p: Price): PriceDraft {
  const tiers = 'tiers' in p && p.tiers ? p.tiers : [];
  return {
    metric: p.metric,
    model: p.model,
    unitPrice: 'unitPrice' in p && p.unitPrice !== undefined ? p.unitPrice : '',
    packageSize: 'packageSize' in p && p.packageSize !== undefined ? String(p.packageSize) : '',
    packagePrice: 'packagePrice' in p && p.packagePrice !== undefined ? p.packagePrice : '',
    includedUnits: 'includedUnits' in p && p.includedUnits !== undefined ? String(p.includedUnits) : '0',
    tiers: tiers.map((t) => [t.upTo === null ? '*' : String(t.upTo), t.unitPrice, t.flatFee ?? ''].join(' ').trim()).join('\n'),
  };
}

function tiersOf(text: string): Schemas['TierDto'][] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts) => parts[0])
    .map(([upTo, unitPrice, flatFee]) => {
      const tier: Schemas['TierDto'] = { upTo: upTo === '*' ? null : Number(upTo), unitPrice: unitPrice ?? '' };
      if (flatFee) tier.flatFee = flatFee;
      return tier;
    });
}

function priceOf(d: PriceDraft): Price {
  const includedUnits = Number(d.includedUnits || 0);
  switch (d.model) {
    case 'per_unit':
      return { metric: d.metric, model: 'per_unit', unitPrice: d.unitPrice, includedUnits };
    case 'package':
      return { metric: d.metric, model: 'package', packageSize: Number(d.packageSize), packagePrice: d.packagePrice, includedUnits };
    case 'graduated':
      return { metric: d.metric, model: 'graduated', tiers: tiersOf(d.tiers), includedUnits };
    case 'volume':
      return { metric: d.metric, model: 'volume', tiers: tiersOf(d.tiers), includedUnits };
  }
}

function describePrice(p: Price, currency: string): string {
  const included = 'includedUnits' in p && p.includedUnits ? `, ${formatNumber(p.includedUnits)} included` : '';
  if ('tiers' in p && p.tiers && (p.model === 'graduated' || p.model === 'volume')) {
    const tiers = p.tiers.map((t) => `${t.upTo === null ? 'above' : `to ${formatNumber(t.upTo)}`}: ${t.unitPrice}${t.flatFee ? ` + ${t.flatFee}` : ''}`).join('; ');
    return `${p.metric}: ${p.model} (${tiers}) ${currency}${included}`;
  }
  if (p.model === 'package' && 'packageSize' in p) return `${p.metric}: ${p.packagePrice} ${currency} per ${formatNumber(p.packageSize ?? 0)}${included}`;
  if ('unitPrice' in p) return `${p.metric}: ${p.unitPrice} ${currency} per unit${included}`;
  return p.metric;
}

export function Plans() {
  const { can } = useSession();
  const [editing, setEditing] = useState<Plan | 'new' | null>(null);
  const paged = usePaged(
    (cursor) => {
      const query: ListQuery<'/v1/admin/plans'> = { limit: 20, cursor };
      return call(api.GET('/v1/admin/plans', { params: { query } }));
    },
    [],
  );
  const canWrite = can('plans:write');
  return (
    <section>
      <h1>Plans</h1>
      {editing ? (
        <PlanForm
          plan={editing === 'new' ? null : editing}
          onDone={() => {
            setEditing(null);
            paged.reload();
          }}
        />
      ) : (
        <p>
          <button type="button" disabled={!canWrite} onClick={() => setEditing('new')} aria-describedby={canWrite ? undefined : 'plans-why'}>
            New plan
          </button>{' '}
          {canWrite ? null : <small id="plans-why">Your key lacks the plans:write scope.</small>}
        </p>
      )}
      <Show state={paged.state}>
        {(page) =>
          page.data.length === 0 ? (
            <Empty>No plans yet. A consumer without a plan is metered but billed nothing.</Empty>
          ) : (
            <table className="striped">
              <thead>
                <tr>
                  <th scope="col">Plan</th>
                  <th scope="col">Base fee</th>
                  <th scope="col">Prices</th>
                  <th scope="col">Limits and quotas</th>
                  <th scope="col">Updated</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <strong>{p.name}</strong>
                      <br />
                      <code>{p.id}</code>
                    </td>
                    <td>{formatMoney(p.baseFeeMinor, p.currency)}</td>
                    <td>
                      {p.prices.length ? (
                        <ul>
                          {p.prices.map((price) => (
                            <li key={price.metric}>{describePrice(price, p.currency)}</li>
                          ))}
                        </ul>
                      ) : (
                        'none'
                      )}
                    </td>
                    <td>
                      {[...p.rateLimits.map((r) => `${r.name}: ${formatNumber(r.limit)}/${r.windowSeconds} s`), ...p.quotas.map((q) => `${q.metric}: ${formatNumber(q.limit)}/month`)].join('; ') ||
                        'defaults'}
                    </td>
                    <td>
                      <Time value={p.updatedAt} />
                    </td>
                    <td>
                      <button type="button" className="secondary outline small" disabled={!canWrite} onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>
                        Edit
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <Pager paged={paged} label="Plans" />
    </section>
  );
}

function PlanForm({ plan, onDone }: { plan: Plan | null; onDone: () => void }) {
  const [name, setName] = useState(plan?.name ?? '');
  const [currency, setCurrency] = useState(plan?.currency ?? 'USD');
  const [baseFee, setBaseFee] = useState(String(plan?.baseFeeMinor ?? 0));
  const [limits, setLimits] = useState(plan?.rateLimits.map((r) => `${r.name}=${r.limit}/${r.windowSeconds}`).join(', ') ?? '');
  const [quotas, setQuotas] = useState(plan?.quotas.map((q) => `${q.metric}=${q.limit}`).join(', ') ?? '');
  const [prices, setPrices] = useState<PriceDraft[]>(plan ? plan.prices.map(draftOf) : [blankPrice()]);
  const action = useAction();
  const update = (i: number, change: Partial<PriceDraft>) => setPrices((all) => all.map((p, j) => (j === i ? { ...p, ...change } : p)));

  return (
    <article>
      <header>
        <h2>{plan ? `Edit ${plan.name}` : 'New plan'}</h2>
        {plan ? <small>Open billing periods keep the plan as it was when they opened; changes apply from the next period.</small> : null}
      </header>
      <form
        aria-label={plan ? 'Edit plan' : 'New plan'}
        onSubmit={async (e) => {
          e.preventDefault();
          const body: Schemas['CreatePlanDto'] = {
            name: name.trim(),
            currency: currency.trim().toUpperCase(),
            baseFeeMinor: Number(baseFee || 0),
            rateLimits: splitList(limits).map((t) => {
              const m = /^([^=]+)=(\d+)\/(\d+)$/.exec(t);
              return m ? { name: m[1], limit: Number(m[2]), windowSeconds: Number(m[3]) } : { name: t, limit: 0, windowSeconds: 0 };
            }),
            quotas: splitList(quotas).map((t) => {
              const [metric, limit] = t.split('=');
              return { metric: metric ?? '', limit: Number(limit), period: 'month' };
            }),
            prices: prices.filter((p) => p.metric.trim()).map(priceOf),
          };
          const saved = await action.run(() =>
            call(plan ? api.PATCH('/v1/admin/plans/{id}', { params: { path: { id: plan.id } }, body }) : api.POST('/v1/admin/plans', { body })),
          );
          if (saved) onDone();
        }}
      >
        <fieldset disabled={action.busy}>
          <div className="grid">
            <label htmlFor="plan-name">
              Name
              <input id="plan-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label htmlFor="plan-currency">
              Currency (ISO 4217)
              <input id="plan-currency" required pattern="[A-Za-z]{3}" maxLength={3} value={currency} onChange={(e) => setCurrency(e.target.value)} />
            </label>
            <label htmlFor="plan-base-fee">
              Base fee per period (minor units, e.g. cents)
              <input id="plan-base-fee" type="number" min={0} step={1} value={baseFee} onChange={(e) => setBaseFee(e.target.value)} />
            </label>
          </div>
          <div className="grid">
            <label htmlFor="plan-limits">
              Rate limits shared by the consumer’s keys (name=limit/seconds, comma separated)
              <input id="plan-limits" placeholder="minute=600/60" value={limits} onChange={(e) => setLimits(e.target.value)} />
            </label>
            <label htmlFor="plan-quotas">
              Monthly quotas (metric=limit, comma separated)
              <input id="plan-quotas" placeholder="requests=100000" value={quotas} onChange={(e) => setQuotas(e.target.value)} />
            </label>
          </div>
          <fieldset>
            <legend>Prices (decimal strings in major units, e.g. 0.0004)</legend>
            {prices.map((p, i) => (
              <div key={i} className="price" role="group" aria-label={`Price ${i + 1}`}>
                <div className="grid">
                  <label htmlFor={`price-${i}-metric`}>
                    Metric
                    <input id={`price-${i}-metric`} value={p.metric} onChange={(e) => update(i, { metric: e.target.value })} />
                  </label>
                  <label htmlFor={`price-${i}-model`}>
                    Model
                    <select id={`price-${i}-model`} value={p.model} onChange={(e) => update(i, { model: MODELS.find((m) => m.value === e.target.value)?.value ?? 'per_unit' })}>
                      {MODELS.map((m) => (
                        <option key={m.value} value={m.value}>
                          {m.label}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label htmlFor={`price-${i}-included`}>
                    Included units
                    <input id={`price-${i}-included`} type="number" min={0} value={p.includedUnits} onChange={(e) => update(i, { includedUnits: e.target.value })} />
                  </label>
                </div>
                {p.model === 'per_unit' ? (
                  <label htmlFor={`price-${i}-unit`}>
                    Unit price
                    <input id={`price-${i}-unit`} required inputMode="decimal" value={p.unitPrice} onChange={(e) => update(i, { unitPrice: e.target.value })} />
                  </label>
                ) : null}
                {p.model === 'package' ? (
                  <div className="grid">
                    <label htmlFor={`price-${i}-size`}>
                      Package size (units)
                      <input id={`price-${i}-size`} required type="number" min={1} value={p.packageSize} onChange={(e) => update(i, { packageSize: e.target.value })} />
                    </label>
                    <label htmlFor={`price-${i}-package`}>
                      Package price
                      <input id={`price-${i}-package`} required inputMode="decimal" value={p.packagePrice} onChange={(e) => update(i, { packagePrice: e.target.value })} />
                    </label>
                  </div>
                ) : null}
                {p.model === 'graduated' || p.model === 'volume' ? (
                  <label htmlFor={`price-${i}-tiers`}>
                    Tiers, one per line: up-to (inclusive, <code>*</code> for the last), unit price, optional flat fee
                    <textarea
                      id={`price-${i}-tiers`}
                      required
                      rows={3}
                      placeholder={'1000 0.01\n10000 0.008\n* 0.005'}
                      value={p.tiers}
                      onChange={(e) => update(i, { tiers: e.target.value })}
                    />
                  </label>
                ) : null}
                <button type="button" className="secondary outline small" onClick={() => setPrices((all) => all.filter((_, j) => j !== i))}>
                  Remove this price
                </button>
              </div>
            ))}
            <button type="button" className="secondary outline small" onClick={() => setPrices((all) => [...all, { ...blankPrice(), metric: '' }])}>
              Add a price
            </button>
          </fieldset>
        </fieldset>
        {action.error ? <ErrorBox error={action.error} /> : null}
        <div className="grid">
          <button type="submit" disabled={action.busy} aria-busy={action.busy}>
            {plan ? 'Save plan' : 'Create plan'}
          </button>
          <button type="button" className="secondary" onClick={onDone}>
            Cancel
          </button>
        </div>
      </form>
    </article>
  );
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
