import { SCOPE_PATTERN } from '../auth/scopes';
import { AppException } from '../common/app.exception';
import type { FieldError } from '../common/app.exception';
import { REQUESTS_METRIC } from '../usage/usage-recorder.service';

/** What a gateway's auth URL asks of the client's key: `?scopes=a:b,c:d&metric=requests&cost=1`. */
export interface AuthorizeQuery {
  scopes: readonly string[];
  metric: string;
  cost: number;
}

const METRIC = /^[a-z][a-z0-9_.-]{0,63}$/;
const COST = /^(0|[1-9][0-9]{0,9})$/;
const MAX_SCOPES = 50;
/** A gateway's configs hold a handful of distinct auth URLs; anything past this is not cached. */
const MAX_CACHED = 1000;

/**
 * Parses the query string of /v1/keys/authorize. It is fixed in the gateway's config, so each distinct
 * string is parsed once and its answer kept: the request path pays one Map lookup, not a validation pipe.
 * A bad query is the operator's config error, answered 400 VALIDATION_FAILED naming the parameter.
 */
export class AuthorizeQueryParser {
  private readonly cache = new Map<string, AuthorizeQuery>();

  /**
   * `url` is the request URL. The needs come from the query string of `/v1/keys/authorize?…`, or, where a
   * gateway appends the client's path to a fixed prefix (Envoy's ext_authz), from a first path segment
   * `needs;scopes=a:b,c:d;metric=m;cost=1` of `/v1/keys/authorize/needs;…/<client path>` — the client's
   * path and query after it are never read as needs. A suffix without that segment asks for the defaults.
   */
  parse(url: string): AuthorizeQuery {
    const at = url.indexOf(AUTHORIZE_PATH);
    const rest = at === -1 ? '' : url.slice(at + AUTHORIZE_PATH.length);
    let source: string;
    if (rest.startsWith('/')) {
      if (!rest.startsWith(NEEDS_SEGMENT)) return DEFAULTS;
      const end = rest.indexOf('/', 1);
      // `;` separates the needs here as `&` does in a query string; URLSearchParams decodes the values.
      source = rest.slice(NEEDS_SEGMENT.length, end === -1 ? undefined : end).split(';').join('&');
    } else {
      source = rest.startsWith('?') ? rest.slice(1) : '';
    }
    let parsed = this.cache.get(source);
    if (parsed === undefined) {
      parsed = parseQuery(source);
      if (this.cache.size < MAX_CACHED) this.cache.set(source, parsed);
    }
    return parsed;
  }
}

const AUTHORIZE_PATH = '/keys/authorize';
const NEEDS_SEGMENT = '/needs';

export function parseQuery(search: string): AuthorizeQuery {
  const params = new URLSearchParams(search);
  const errors: FieldError[] = [];
  const scopes = (params.get('scopes') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length > MAX_SCOPES) errors.push({ field: 'scopes', message: `must list at most ${MAX_SCOPES} scopes` });
  scopes.forEach((s, i) => {
    if (!SCOPE_PATTERN.test(s)) errors.push({ field: `scopes[${i}]`, message: `"${s}" is not of the form resource:action, resource:* or *` });
  });
  const metric = params.get('metric') ?? REQUESTS_METRIC;
  if (!METRIC.test(metric)) errors.push({ field: 'metric', message: 'must be 1-64 lowercase letters, digits, _ . or -' });
  const costText = params.get('cost') ?? '1';
  const cost = Number(costText);
  if (!COST.test(costText) || cost > 1_000_000_000) errors.push({ field: 'cost', message: 'must be an integer from 0 to 1000000000' });
  for (const name of params.keys()) {
    if (name !== 'scopes' && name !== 'metric' && name !== 'cost') errors.push({ field: name, message: 'is not a parameter of this route' });
  }
  if (errors.length) throw AppException.validation(errors, 'The query string of the auth URL is not valid');
  return Object.freeze({ scopes: Object.freeze(scopes), metric, cost });
}

const DEFAULTS = parseQuery('');
