const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const number = new Intl.NumberFormat();

/** A time in the browser's zone, with the exact UTC instant on hover. */
export function Time({ value, empty = '—' }: { value: string | null | undefined; empty?: string }) {
  if (!value) return <span>{empty}</span>;
  const d = new Date(value);
  return (
    <time dateTime={value} title={`${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`}>
      {dateTime.format(d)}
    </time>
  );
}

export function formatNumber(n: number): string {
  return number.format(n);
}

/** Integer minor units of a currency, as money in the browser's locale. */
export function formatMoney(minor: number, currency: string | null): string {
  if (!currency) return formatNumber(minor);
  try {
    const f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
    return f.format(minor / 10 ** digits);
  } catch {
    return `${formatNumber(minor)} ${currency} (minor units)`;
  }
}

export function Status({ value }: { value: string }) {
  return <mark className={`status status-${value}`}>{value}</mark>;
}

/** A key's state as the guard sees it. */
export function keyStatus(key: { revokedAt: string | null; expiresAt: string | null }): 'revoked' | 'expired' | 'active' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && new Date(key.expiresAt).getTime() <= Date.now()) return 'expired';
  return 'active';
}

/** How long until `iso`, in the largest whole unit: "in 23 h", "in 5 min", "in 3 days" (or "now" when past). */
export function timeUntil(iso: string, now = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (ms <= 0) return 'now';
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `in ${Math.max(min, 1)} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `in ${h} h`;
  return `in ${Math.floor(h / 24)} days`;
}
