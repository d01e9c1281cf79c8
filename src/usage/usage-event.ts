import { canonicalJson, sha256 } from '../audit/canonical';
import { ErrorCode } from '../common/error-code';
import { ISO_DATE_TIME } from '../common/validators';

export const METRIC_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;
export const MAX_EVENTS_PER_BATCH = 1000;
export const MAX_QUANTITY = 1_000_000_000;
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;
export const MAX_PROPERTIES_BYTES = 4096;
/** Events may be dated at most this far ahead (client clocks drift). */
export const MAX_FUTURE_MS = 5 * 60_000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const FIELDS = new Set(['metric', 'quantity', 'timestamp', 'idempotencyKey', 'properties']);

/** An event that passed validation on its own. */
export interface UsageEvent {
  index: number;
  idempotencyKey: string;
  metric: string;
  quantity: number;
  /** When the usage happened (ms); now when not sent. */
  at: number;
  properties: Record<string, unknown> | null;
  /** sha256 of the canonical content as sent: {metric, quantity, timestamp (or null), properties (or null)}. */
  fingerprint: string;
}

export interface EventRejection {
  index: number;
  idempotencyKey: string | null;
  code: ErrorCode;
  message: string;
}

export type EventCheck = { ok: true; event: UsageEvent } | { ok: false; rejection: EventRejection };

/** An ISO-8601 date-time with a time zone, as ms; NaN when malformed or not a real date (no 30 February). */
export function parseTimestamp(text: string): number {
  if (!ISO_DATE_TIME.test(text)) return NaN;
  const [y, mo, d, h, mi] = text.slice(0, 16).split(/[-T:]/).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate() || h > 23 || mi > 59) return NaN;
  return Date.parse(text);
}

/**
 * Validates one reported event. `now` and `backfillDays` bound its timestamp. The fingerprint covers
 * what the client sent, not defaults filled in here, so that resending an event without a timestamp
 * is recognised as the same event.
 */
export function checkEvent(raw: unknown, index: number, now: number, backfillDays: number): EventCheck {
  const idem = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>).idempotencyKey : undefined;
  const idempotencyKey = typeof idem === 'string' ? idem : null;
  const reject = (message: string, code = ErrorCode.VALIDATION_FAILED): EventCheck => ({
    ok: false,
    rejection: { index, idempotencyKey, code, message },
  });
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return reject('an event must be a JSON object');
  const e = raw as Record<string, unknown>;
  const unknown = Object.keys(e).filter((k) => !FIELDS.has(k));
  if (unknown.length) return reject(`unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`);

  if (idempotencyKey === null) return reject('idempotencyKey must be a string of 1 to 255 characters');
  const chars = [...idempotencyKey].length;
  if (chars < 1 || chars > MAX_IDEMPOTENCY_KEY_CHARS) return reject('idempotencyKey must be a string of 1 to 255 characters');
  // A lone surrogate cannot be stored as UTF-8 unchanged, so two different keys could be stored alike.
  if (LONE_SURROGATE.test(idempotencyKey)) return reject('idempotencyKey must be valid Unicode');

  if (typeof e.metric !== 'string' || !METRIC_NAME.test(e.metric)) {
    return reject('metric must be 1-64 characters: a lowercase letter, then lowercase letters, digits, _ . or -');
  }
  if (typeof e.quantity !== 'number' || !Number.isInteger(e.quantity) || e.quantity < 1 || e.quantity > MAX_QUANTITY) {
    return reject(`quantity must be an integer from 1 to ${MAX_QUANTITY} (report fractions in a smaller unit)`);
  }

  let at = now;
  let sentTimestamp: string | null = null;
  if (e.timestamp !== undefined && e.timestamp !== null) {
    const ts = e.timestamp;
    const parsed = typeof ts === 'string' ? parseTimestamp(ts) : NaN;
    if (!Number.isFinite(parsed)) return reject('timestamp must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T12:00:00.000Z');
    if (parsed > now + MAX_FUTURE_MS) return reject('timestamp is more than 5 minutes in the future');
    if (parsed < now - backfillDays * 86_400_000) return reject(`timestamp is more than ${backfillDays} days in the past`);
    at = parsed;
    sentTimestamp = new Date(parsed).toISOString();
  }

  let properties: Record<string, unknown> | null = null;
  if (e.properties !== undefined && e.properties !== null) {
    const p = e.properties;
    if (typeof p !== 'object' || Array.isArray(p)) return reject('properties must be a JSON object');
    if (Buffer.byteLength(JSON.stringify(p)) > MAX_PROPERTIES_BYTES) return reject(`properties must be at most ${MAX_PROPERTIES_BYTES} bytes of JSON`);
    properties = p as Record<string, unknown>;
  }

  const fingerprint = sha256(canonicalJson({ metric: e.metric, quantity: e.quantity, timestamp: sentTimestamp, properties }));
  return { ok: true, event: { index, idempotencyKey, metric: e.metric, quantity: e.quantity, at, properties, fingerprint } };
}
