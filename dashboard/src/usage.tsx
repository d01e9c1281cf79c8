import { useState } from 'react';

export type Granularity = 'minute' | 'hour' | 'day' | 'month';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The range each granularity shows, ending with the current (partial) bucket. */
export const RANGES: Record<Granularity, { label: string; span: number; unit: number }> = {
  minute: { label: 'last hour, per minute', span: HOUR, unit: MINUTE },
  hour: { label: 'last 24 hours, per hour', span: DAY, unit: HOUR },
  day: { label: 'last 30 days, per day', span: 30 * DAY, unit: DAY },
  month: { label: 'last 12 months, per month', span: 365 * DAY, unit: DAY },
};

export function rangeOf(g: Granularity): { from: string; to: string } {
  const { span, unit } = RANGES[g];
  const to = Math.ceil((Date.now() + 1) / unit) * unit;
  return { from: new Date(to - span).toISOString(), to: new Date(to).toISOString() };
}

/** Start of every bucket of [from, to) in seconds, so that buckets without traffic are drawn as zero. */
export function bucketStarts(g: Granularity, from: string, to: string): number[] {
  const start = Date.parse(from);
  const end = Date.parse(to);
  const out: number[] = [];
  if (g === 'month') {
    const d = new Date(start);
    for (let m = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1); m < end; ) {
      out.push(m / 1000);
      const n = new Date(m);
      m = Date.UTC(n.getUTCFullYear(), n.getUTCMonth() + 1, 1);
    }
    return out;
  }
  const step = g === 'minute' ? MINUTE : g === 'hour' ? HOUR : DAY;
  for (let t = Math.ceil(start / step) * step; t < end; t += step) out.push(t / 1000);
  return out;
}

export function useGranularity(initial: Granularity): [Granularity, (g: Granularity) => void] {
  return useState<Granularity>(initial);
}

export function GranularitySwitch({ value, onChange, idPrefix }: { value: Granularity; onChange: (g: Granularity) => void; idPrefix: string }) {
  return (
    <fieldset className="granularity">
      <legend>Granularity</legend>
      {(Object.keys(RANGES) as Granularity[]).map((g) => (
        <label key={g} htmlFor={`${idPrefix}-${g}`}>
          <input id={`${idPrefix}-${g}`} type="radio" name={`${idPrefix}-granularity`} checked={value === g} onChange={() => onChange(g)} />
          {RANGES[g].label}
        </label>
      ))}
    </fieldset>
  );
}

export const PALETTE = ['#0172ad', '#d93526', '#2a7b3f', '#9236a4', '#c15a00', '#5d6b89', '#017fc0', '#b3295a'];
