import { useState } from 'react';
import { api, call, type ListQuery, type Schemas } from '../api';
import { ErrorBox } from '../components';
import { formatMoney, formatNumber, Time } from '../format';
import { useAction, usePaged } from '../hooks';
import { type LimitDraft, limitDrafts, LimitRows, limitsOf } from '../parts/limit-rows';
import { useSession } from '../session';
import { DataTable } from '../table';
import { isCurrency, minorUnitExponent, priceInvoice, type Price as PricingPrice } from '../../../src/billing/pricing';

type Plan = Schemas['PlanDto'];
type Price = Plan['prices'][number];
type Model = Price['model'];

const MODELS: { value: Model; label: string; hint: string }[] = [
  { value: 'per_unit', label: 'Per unit', hint: 'Every billable unit at one price.' },
  { value: 'package', label: 'Package', hint: 'Every started package of units at one price.' },
  { value: 'graduated', label: 'Graduated tiers', hint: 'Each unit at the price of the tier it falls in.' },
  { value: 'volume', label: 'Volume tiers', hint: 'All units at the price of the tier the total reaches.' },
];

interface TierDraft {
  /** Empty on the last tier: no upper bound. */
  upTo: string;
  unitPrice: string;
  flatFee: string;
}

/** A price as the form edits it: every field as typed, whatever the model. */
interface PriceDraft {
  metric: string;
  model: Model;
  unitPrice: string;
  packageSize: string;
  packagePrice: string;
  includedUnits: string;
  tiers: TierDraft[];
}

interface QuotaDraft {
  metric: string;
  limit: string;
}

const blankTiers = (): TierDraft[] => [
  { upTo: '', unitPrice: '', flatFee: '' },
];
const blankPrice = (metric = 'requests'): PriceDraft => ({ metric, model: 'per_unit', unitPrice: '', packageSize: '', packagePrice: '', includedUnits: '0', tiers: blankTiers() });

function draftOf(p: Price): PriceDraft {
  const tiers = 'tiers' in p && p.tiers ? p.tiers : [];
  return {
    metric: p.metric,
    model: p.model,
    unitPrice: 'unitPrice' in p && p.unitPrice !== undefined ? p.unitPrice : '',
    packageSize: 'packageSize' in p && p.packageSize !== undefined ? String(p.packageSize) : '',
    packagePrice: 'packagePrice' in p && p.packagePrice !== undefined ? p.packagePrice : '',
    includedUnits: 'includedUnits' in p && p.includedUnits !== undefined ? String(p.includedUnits) : '0',
    tiers: tiers.length ? tiers.map((t) => ({ upTo: t.upTo === null ? '' : String(t.upTo), unitPrice: t.unitPrice, flatFee: t.flatFee ?? '' })) : blankTiers(),
  };
}

function tiersOf(drafts: TierDraft[]): Schemas['TierDto'][] {
  return drafts.map((d) => {
    const tier: Schemas['TierDto'] = { upTo: d.upTo.trim() === '' ? null : Number(d.upTo), unitPrice: d.unitPrice.trim() };
    if (d.flatFee.trim()) tier.flatFee = d.flatFee.trim();
    return tier;
  });
}

function priceOf(d: PriceDraft): Price {
  const includedUnits = Number(d.includedUnits || 0);
  const metric = d.metric.trim();
  switch (d.model) {
    case 'per_unit':
      return { metric, model: 'per_unit', unitPrice: d.unitPrice.trim(), includedUnits };
    case 'package':
      return { metric, model: 'package', packageSize: Number(d.packageSize), packagePrice: d.packagePrice.trim(), includedUnits };
    case 'graduated':
      return { metric, model: 'graduated', tiers: tiersOf(d.tiers), includedUnits };
    case 'volume':
      return { metric, model: 'volume', tiers: tiersOf(d.tiers), includedUnits };
  }
}

/**
 * Money as a person types it, in major units ("49" or "49.00" dollars), to the integer minor units the
 * API keeps (4900 cents). Exact: no floating point on the way; more decimals than the currency has is an error.
 */
export function minorOf(text: string, currency: string): number | string {
  const t = text.trim() || '0';
  const exponent = minorUnitExponent(currency);
  const m = /^(\d{1,13})(?:[.,](\d*))?$/.exec(t);
  if (!m) return 'a number, e.g. 49.00';
  const fraction = m[2] ?? '';
  if (fraction.length > exponent) return exponent === 0 ? `${currency} has no decimals` : `${currency} has ${exponent} decimals at most`;
  return Number(m[1] + fraction.padEnd(exponent, '0'));
}

/** Integer minor units as the major-unit text the form shows ("4900" USD → "49.00"). */
function majorOf(minor: number, currency: string): string {
  const exponent = minorUnitExponent(currency);
  if (exponent === 0) return String(minor);
  const s = String(minor).padStart(exponent + 1, '0');
  return `${s.slice(0, -exponent)}.${s.slice(-exponent)}`;
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

export function describeLimit(r: { name: string; limit: number; windowSeconds: number }): string {
  return `${r.name}: ${formatNumber(r.limit)} requests per ${formatNumber(r.windowSeconds)} seconds`;
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
      <DataTable<Plan>
        paged={paged}
        label="Plans"
        rowKey={(p) => p.id}
        empty="No plans yet. A consumer without a plan is metered but billed nothing."
        columns={[
          { header: 'Plan', className: 'wrap', cell: (p) => <strong title={p.id}>{p.name}</strong> },
          { header: 'Base fee', className: 'num', cell: (p) => formatMoney(p.baseFeeMinor, p.currency) },
          {
            header: 'Prices',
            className: 'wrap',
            cell: (p) =>
              p.prices.length ? (
                <ul>
                  {p.prices.map((price) => (
                    <li key={price.metric}>{describePrice(price, p.currency)}</li>
                  ))}
                </ul>
              ) : (
                'none'
              ),
          },
          {
            header: 'Limits and quotas',
            className: 'wrap',
            cell: (p) =>
              p.rateLimits.length || p.quotas.length ? (
                <ul>
                  {p.rateLimits.map((r) => (
                    <li key={`r-${r.name}`}>{describeLimit(r)}</li>
                  ))}
                  {p.quotas.map((q) => (
                    <li key={`q-${q.metric}`}>
                      {q.metric}: {formatNumber(q.limit)} per month
                    </li>
                  ))}
                </ul>
              ) : (
                'defaults'
              ),
          },
          { header: 'Updated', className: 'nowrap', cell: (p) => <Time value={p.updatedAt} /> },
          {
            header: 'Actions',
            hiddenHeader: true,
            cell: (p) => (
              <button type="button" className="secondary outline small" disabled={!canWrite} onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>
                Edit
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}

function PlanForm({ plan, onDone }: { plan: Plan | null; onDone: () => void }) {
  const [name, setName] = useState(plan?.name ?? '');
  const [currency, setCurrency] = useState(plan?.currency ?? 'USD');
  const [baseFee, setBaseFee] = useState(plan ? majorOf(plan.baseFeeMinor, plan.currency) : '0');
  const [limits, setLimits] = useState<LimitDraft[]>(plan ? limitDrafts(plan.rateLimits) : []);
  const [quotas, setQuotas] = useState<QuotaDraft[]>(plan?.quotas.map((q) => ({ metric: q.metric, limit: String(q.limit) })) ?? []);
  const [prices, setPrices] = useState<PriceDraft[]>(plan ? plan.prices.map(draftOf) : [blankPrice()]);
  const [formError, setFormError] = useState<string | null>(null);
  const action = useAction();
  const update = (i: number, change: Partial<PriceDraft>) => setPrices((all) => all.map((p, j) => (j === i ? { ...p, ...change } : p)));
  const code = currency.trim().toUpperCase();
  const unit = isCurrency(code) ? code : 'currency units';
  const fee = minorOf(baseFee, code);

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
          if (typeof fee === 'string') {
            setFormError(`The base fee must be ${fee}.`);
            return;
          }
          setFormError(null);
          const body: Schemas['CreatePlanDto'] = {
            name: name.trim(),
            currency: code,
            baseFeeMinor: fee,
            rateLimits: limitsOf(limits),
            quotas: quotas.filter((q) => q.metric.trim() || q.limit.trim()).map((q) => ({ metric: q.metric.trim(), limit: Number(q.limit), period: 'month' })),
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
              <input id="plan-currency" required pattern="[A-Za-z]{3}" maxLength={3} value={currency} onChange={(e) => setCurrency(e.target.value)} aria-describedby="plan-currency-hint" />
              <small id="plan-currency-hint">Three letters, e.g. USD, EUR, JPY.</small>
            </label>
            <label htmlFor="plan-base-fee">
              Base fee per period ({unit})
              <input
                id="plan-base-fee"
                inputMode="decimal"
                value={baseFee}
                onChange={(e) => setBaseFee(e.target.value)}
                aria-invalid={typeof fee === 'string' ? true : undefined}
                aria-describedby="plan-base-fee-hint"
              />
              <small id="plan-base-fee-hint">{typeof fee === 'string' ? `Must be ${fee}.` : `Charged once per billing period: ${formatMoney(fee, isCurrency(code) ? code : null)}.`}</small>
            </label>
          </div>
          <LimitRows idPrefix="plan" legend="Rate limits shared by the consumer’s keys" value={limits} onChange={setLimits} />
          <QuotaRows value={quotas} onChange={setQuotas} />
          <fieldset>
            <legend>Prices, in {unit} (decimals allowed, e.g. 0.0004 per unit)</legend>
            {prices.map((p, i) => (
              <div key={i} className="price" role="group" aria-label={`Price ${i + 1}`}>
                <div className="price-head">
                  <strong>Price {i + 1}</strong>
                  <button type="button" className="secondary outline small" onClick={() => setPrices((all) => all.filter((_, j) => j !== i))} aria-label={`Remove price ${i + 1}`}>
                    Remove
                  </button>
                </div>
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
                    <small>{MODELS.find((m) => m.value === p.model)?.hint}</small>
                  </label>
                  <label htmlFor={`price-${i}-included`}>
                    Included units (free each period)
                    <input id={`price-${i}-included`} type="number" min={0} value={p.includedUnits} onChange={(e) => update(i, { includedUnits: e.target.value })} />
                  </label>
                </div>
                {p.model === 'per_unit' ? (
                  <label htmlFor={`price-${i}-unit`}>
                    Unit price ({unit} per unit)
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
                      Package price ({unit})
                      <input id={`price-${i}-package`} required inputMode="decimal" value={p.packagePrice} onChange={(e) => update(i, { packagePrice: e.target.value })} />
                    </label>
                  </div>
                ) : null}
                {p.model === 'graduated' || p.model === 'volume' ? <TierRows idPrefix={`price-${i}`} unit={unit} value={p.tiers} onChange={(tiers) => update(i, { tiers })} /> : null}
              </div>
            ))}
            <button type="button" className="secondary outline small" onClick={() => setPrices((all) => [...all, blankPrice('')])}>
              Add a price
            </button>
          </fieldset>
        </fieldset>
        <Preview currency={code} baseFee={fee} prices={prices} />
        {formError ? (
          <p role="alert" className="error-box">
            {formError}
          </p>
        ) : null}
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

function QuotaRows({ value, onChange }: { value: QuotaDraft[]; onChange: (v: QuotaDraft[]) => void }) {
  const update = (i: number, change: Partial<QuotaDraft>) => onChange(value.map((d, j) => (j === i ? { ...d, ...change } : d)));
  return (
    <fieldset className="rows">
      <legend>Monthly quotas (requests past one are refused with 429 QUOTA_EXCEEDED)</legend>
      {value.length === 0 ? <small className="muted">None.</small> : null}
      {value.map((d, i) => (
        <div key={i} className="row" role="group" aria-label={`Quota ${i + 1}`}>
          <label htmlFor={`quota-${i}-metric`}>
            Metric
            <input id={`quota-${i}-metric`} required value={d.metric} onChange={(e) => update(i, { metric: e.target.value })} />
          </label>
          <label htmlFor={`quota-${i}-limit`}>
            Units
            <input id={`quota-${i}-limit`} required type="number" min={1} step={1} value={d.limit} onChange={(e) => update(i, { limit: e.target.value })} />
          </label>
          <span className="unit">per month</span>
          <button type="button" className="secondary outline small remove" aria-label={`Remove quota ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary outline small" onClick={() => onChange([...value, { metric: 'requests', limit: '' }])}>
        Add a quota
      </button>
    </fieldset>
  );
}

/** Tiers as rows: up to how many units (empty on the last: no bound), the unit price, an optional flat fee. */
function TierRows({ idPrefix, unit, value, onChange }: { idPrefix: string; unit: string; value: TierDraft[]; onChange: (v: TierDraft[]) => void }) {
  const update = (j: number, change: Partial<TierDraft>) => onChange(value.map((t, k) => (k === j ? { ...t, ...change } : t)));
  return (
    <fieldset className="rows">
      <legend>Tiers, in order; the last has no upper bound</legend>
      {value.map((t, j) => {
        const last = j === value.length - 1;
        return (
          <div key={j} className="row" role="group" aria-label={`Tier ${j + 1}`}>
            <label htmlFor={`${idPrefix}-tier-${j}-upto`}>
              {last ? 'Units above the previous tier' : 'Up to (units, inclusive)'}
              {last ? (
                <input id={`${idPrefix}-tier-${j}-upto`} readOnly value="and above" tabIndex={-1} />
              ) : (
                <input id={`${idPrefix}-tier-${j}-upto`} required type="number" min={1} value={t.upTo} onChange={(e) => update(j, { upTo: e.target.value })} />
              )}
            </label>
            <label htmlFor={`${idPrefix}-tier-${j}-price`}>
              Unit price ({unit})
              <input id={`${idPrefix}-tier-${j}-price`} required inputMode="decimal" value={t.unitPrice} onChange={(e) => update(j, { unitPrice: e.target.value })} />
            </label>
            <label htmlFor={`${idPrefix}-tier-${j}-flat`}>
              Flat fee (optional)
              <input id={`${idPrefix}-tier-${j}-flat`} inputMode="decimal" value={t.flatFee} onChange={(e) => update(j, { flatFee: e.target.value })} />
            </label>
            <button
              type="button"
              className="secondary outline small remove"
              disabled={value.length === 1}
              aria-label={`Remove tier ${j + 1}`}
              onClick={() => onChange(value.filter((_, k) => k !== j).map((x, k, all) => (k === all.length - 1 ? { ...x, upTo: '' } : x)))}
            >
              Remove
            </button>
          </div>
        );
      })}
      <button
        type="button"
        className="secondary outline small"
        onClick={() => onChange([...value.slice(0, -1), { ...value[value.length - 1], upTo: value[value.length - 1].upTo || '' }, { upTo: '', unitPrice: '', flatFee: '' }])}
      >
        Add a tier
      </button>
    </fieldset>
  );
}

/**
 * What the plan charges for a month of the usage typed here, computed by the same pricing code as the
 * server's invoices, so the preview and the invoice cannot disagree.
 */
function Preview({ currency, baseFee, prices }: { currency: string; baseFee: number | string; prices: PriceDraft[] }) {
  const metrics = [...new Set(prices.map((p) => p.metric.trim()).filter(Boolean))];
  const [usage, setUsage] = useState<Record<string, string>>({});
  const quantity = (m: string) => usage[m] ?? '10000';
  let result: { text: string; lines: string[] } | null = null;
  let problem: string | null = null;
  if (!isCurrency(currency)) problem = 'Choose a currency to see what a month costs.';
  else if (typeof baseFee === 'string') problem = `The base fee must be ${baseFee}.`;
  else {
    try {
      const invoice = priceInvoice(
        { currency, baseFeeMinor: baseFee, prices: prices.filter((p) => p.metric.trim()).map((p) => priceOf(p) as PricingPrice) },
        Object.fromEntries(metrics.map((m) => [m, Math.max(0, Math.floor(Number(quantity(m)) || 0))])),
      );
      result = {
        text: formatMoney(invoice.totalMinor, currency),
        lines: invoice.lines.map((l) => `${l.type === 'base_fee' ? 'Base fee' : `${formatNumber(l.quantity)} ${l.metric}`}: ${formatMoney(l.amountMinor, currency)}`),
      };
    } catch {
      problem = 'Complete the prices to see what a month costs.';
    }
  }
  return (
    <section className="preview" aria-label="What a month costs" data-testid="plan-preview">
      <h3>What a month costs</h3>
      {metrics.length ? (
        <div className="rows">
          {metrics.map((m) => (
            <div key={m} className="row">
              <label htmlFor={`preview-${m}`}>
                Sample usage of {m}
                <input id={`preview-${m}`} type="number" min={0} step={1} value={quantity(m)} onChange={(e) => setUsage({ ...usage, [m]: e.target.value })} />
              </label>
            </div>
          ))}
        </div>
      ) : null}
      {result ? (
        <p>
          <strong data-testid="plan-preview-total">{result.text}</strong> for that month: {result.lines.join(' + ') || 'nothing is charged'}.
        </p>
      ) : (
        <p className="muted">{problem}</p>
      )}
    </section>
  );
}
