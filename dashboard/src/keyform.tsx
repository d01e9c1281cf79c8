import { useState } from 'react';
import { api, call, type Schemas } from './api';
import { ErrorBox, SecretOnce } from './components';
import { useAction } from './hooks';
import { href } from './router';

export type CreatedKey = Schemas['CreatedApiKeyDto'];
type Kind = 'secret' | 'publishable';

const CONSUMER_SCOPES = ['usage:read', 'usage:write', 'billing:read', 'keys:read', 'keys:write'];
const PUBLISHABLE_SCOPES = ['usage:write'];

/** One entry per line or comma: IPs/CIDRs, origins, extra scopes. */
export function listOf(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A local datetime-local value as an ISO instant (UTC), or null when empty. */
export function isoFromLocal(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

/**
 * Creates a consumer key. The plaintext comes back once, in the create answer: it is shown here with a
 * copy button and kept only in this component's state, so a reload or leaving the page loses it.
 */
export function CreateKeyForm({ consumerId, onCreated }: { consumerId: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('secret');
  const [environment, setEnvironment] = useState<'live' | 'test'>('live');
  const [scopes, setScopes] = useState<string[]>(['usage:read', 'usage:write']);
  const [extraScopes, setExtraScopes] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [ips, setIps] = useState('');
  const [origins, setOrigins] = useState('');
  const [limit, setLimit] = useState('');
  const [windowSeconds, setWindowSeconds] = useState('60');
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const action = useAction();
  const offered = kind === 'publishable' ? PUBLISHABLE_SCOPES : CONSUMER_SCOPES;

  if (created) {
    return (
      <SecretOnce label={`New key “${created.name}” (${created.start}…)`} value={created.key} onDismiss={() => setCreated(null)}>
        <a href={href('keys', created.id)}>Open the key</a>
      </SecretOnce>
    );
  }

  return (
    <form
      aria-label="New key"
      onSubmit={async (e) => {
        e.preventDefault();
        const body: Schemas['CreateConsumerKeyDto'] = {
          kind,
          name: name.trim(),
          environment,
          scopes: [...scopes.filter((s) => offered.includes(s)), ...listOf(extraScopes)],
        };
        const expiry = isoFromLocal(expiresAt);
        if (expiry) body.expiresAt = expiry;
        if (ips.trim()) body.allowedIps = listOf(ips);
        if (kind === 'publishable') body.allowedOrigins = listOf(origins);
        if (limit) body.rateLimits = [{ name: 'key', limit: Number(limit), windowSeconds: Number(windowSeconds) }];
        const key = await action.run(() => call(api.POST('/v1/admin/consumers/{consumerId}/keys', { params: { path: { consumerId } }, body })));
        if (key) {
          setCreated(key);
          setName('');
          onCreated();
        }
      }}
    >
      <fieldset disabled={action.busy}>
        <div className="grid">
          <label htmlFor="key-name">
            Name
            <input id="key-name" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label htmlFor="key-kind">
            Kind
            <select id="key-kind" value={kind} onChange={(e) => setKind(e.target.value === 'publishable' ? 'publishable' : 'secret')}>
              <option value="secret">Secret (server side)</option>
              <option value="publishable">Publishable (browser/mobile)</option>
            </select>
          </label>
          <label htmlFor="key-env">
            Environment
            <select id="key-env" value={environment} onChange={(e) => setEnvironment(e.target.value === 'test' ? 'test' : 'live')}>
              <option value="live">live</option>
              <option value="test">test (kept out of invoices)</option>
            </select>
          </label>
        </div>
        <fieldset>
          <legend>Scopes</legend>
          {offered.map((s) => (
            <label key={s} htmlFor={`scope-${s}`}>
              <input
                id={`scope-${s}`}
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes((now) => (e.target.checked ? [...now, s] : now.filter((x) => x !== s)))}
              />
              {s}
            </label>
          ))}
        </fieldset>
        <div className="grid">
          <label htmlFor="key-extra-scopes">
            Operator scopes (optional)
            <input id="key-extra-scopes" aria-describedby="key-extra-scopes-hint" value={extraScopes} onChange={(e) => setExtraScopes(e.target.value)} />
            <small id="key-extra-scopes-hint">Your own API's scopes, separated by commas, e.g. orders:read</small>
          </label>
          <label htmlFor="key-expires">
            Expires (your time zone, optional)
            <input id="key-expires" type="datetime-local" value={expiresAt} onChange={(e) => setExpiresAt(e.target.value)} />
          </label>
        </div>
        <div className="grid">
          <label htmlFor="key-ips">
            Allowed IPs / CIDRs (optional)
            <input id="key-ips" aria-describedby="key-ips-hint" value={ips} onChange={(e) => setIps(e.target.value)} />
            <small id="key-ips-hint">Separated by commas, e.g. 203.0.113.0/24, 2001:db8::/32. Empty: any address.</small>
          </label>
          {kind === 'publishable' ? (
            <label htmlFor="key-origins">
              Allowed origins
              <input id="key-origins" required aria-describedby="key-origins-hint" value={origins} onChange={(e) => setOrigins(e.target.value)} />
              <small id="key-origins-hint">Separated by commas, e.g. https://app.example.com</small>
            </label>
          ) : null}
        </div>
        <div className="grid">
          <label htmlFor="key-limit">
            Own rate limit: requests (optional)
            <input id="key-limit" type="number" min={1} value={limit} onChange={(e) => setLimit(e.target.value)} />
          </label>
          <label htmlFor="key-window">
            per this many seconds
            <input id="key-window" type="number" min={1} value={windowSeconds} onChange={(e) => setWindowSeconds(e.target.value)} />
          </label>
        </div>
      </fieldset>
      {action.error ? <ErrorBox error={action.error} /> : null}
      <button type="submit" disabled={action.busy} aria-busy={action.busy}>
        Create key
      </button>
    </form>
  );
}
