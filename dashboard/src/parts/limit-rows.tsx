import type { Schemas } from '../api';

type RateLimit = Schemas['RateLimitRuleDto'];

/** A rate limit as the form edits it: every field as typed. */
export interface LimitDraft {
  name: string;
  limit: string;
  windowSeconds: string;
}

export const limitDrafts = (limits: readonly RateLimit[]): LimitDraft[] =>
  limits.map((r) => ({ name: r.name, limit: String(r.limit), windowSeconds: String(r.windowSeconds) }));

/** Rows left empty are dropped; a half-filled one goes to the API, which names the field that is wrong. */
export const limitsOf = (drafts: readonly LimitDraft[]): RateLimit[] =>
  drafts
    .filter((d) => d.name.trim() || d.limit.trim())
    .map((d) => ({ name: d.name.trim(), limit: Number(d.limit), windowSeconds: Number(d.windowSeconds) }));

/**
 * Rate limits as rows of fields that read as a sentence: "minute: 25 requests per 60 seconds". No
 * syntax to learn, and the unit of every number is beside it.
 */
export function LimitRows({ idPrefix, value, onChange, legend }: { idPrefix: string; value: LimitDraft[]; onChange: (v: LimitDraft[]) => void; legend: string }) {
  const update = (i: number, change: Partial<LimitDraft>) => onChange(value.map((d, j) => (j === i ? { ...d, ...change } : d)));
  return (
    <fieldset className="rows" id={`${idPrefix}-limits`}>
      <legend>{legend}</legend>
      {value.length === 0 ? <small className="muted">None.</small> : null}
      {value.map((d, i) => (
        <div key={i} className="row" role="group" aria-label={`Rate limit ${i + 1}`}>
          <label htmlFor={`${idPrefix}-limit-${i}-name`}>
            Limit name
            <input id={`${idPrefix}-limit-${i}-name`} required maxLength={64} value={d.name} onChange={(e) => update(i, { name: e.target.value })} />
          </label>
          <label htmlFor={`${idPrefix}-limit-${i}-limit`}>
            Requests
            <input id={`${idPrefix}-limit-${i}-limit`} required type="number" min={1} step={1} value={d.limit} onChange={(e) => update(i, { limit: e.target.value })} />
          </label>
          <span className="unit">per</span>
          <label htmlFor={`${idPrefix}-limit-${i}-window`}>
            Seconds
            <input id={`${idPrefix}-limit-${i}-window`} required type="number" min={1} step={1} value={d.windowSeconds} onChange={(e) => update(i, { windowSeconds: e.target.value })} />
          </label>
          <button type="button" className="secondary outline small remove" aria-label={`Remove rate limit ${i + 1}`} onClick={() => onChange(value.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary outline small" onClick={() => onChange([...value, { name: value.length ? '' : 'default', limit: '', windowSeconds: '60' }])}>
        Add a rate limit
      </button>
    </fieldset>
  );
}
