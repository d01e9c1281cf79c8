import { useState } from 'react';
import type { ApiError } from '../api';
import { ErrorBox } from '../components';

/** Paste an admin key. It stays in this tab and is sent only as X-API-Key to this server's API. */
export function SignIn({ onSignIn, error }: { onSignIn: (key: string) => void; error?: ApiError }) {
  const [key, setKey] = useState('');
  return (
    <main className="container signin">
      <article>
        <header>
          <h1>Tollgate console</h1>
          <p>Sign in with an admin API key.</p>
        </header>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (key.trim()) onSignIn(key.trim());
          }}
        >
          <label htmlFor="admin-key">
            Admin API key
            <input
              id="admin-key"
              name="admin-key"
              type="password"
              autoComplete="off"
              spellCheck={false}
              required
              value={key}
              onChange={(e) => setKey(e.target.value)}
              aria-describedby="admin-key-hint"
              aria-invalid={error ? true : undefined}
            />
            <small id="admin-key-hint">
              An admin key starts with <code>tg_live_</code> or <code>tg_test_</code>. Kept in this browser tab only (session storage) and sent only as the X-API-Key header to this server. Closing the tab or signing out forgets it.
            </small>
          </label>
          {error ? <ErrorBox error={error} /> : null}
          <button type="submit">Sign in</button>
        </form>
      </article>
    </main>
  );
}
