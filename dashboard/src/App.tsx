import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, ApiError, call, forgetKey, rememberKey, storedKey } from './api';
import { ErrorBox, Loading } from './components';
import { href, useRoute } from './router';
import { type AdminMe, grants, type Session, SessionContext, useSession } from './session';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { Consumers } from './pages/Consumers';
import { ConsumerPage } from './pages/Consumer';
import { KeyPage } from './pages/Key';
import { Plans } from './pages/Plans';
import { Billing } from './pages/Billing';
import { AuditLog } from './pages/AuditLog';
import { Webhooks } from './pages/Webhooks';
import { WebhookEndpointPage } from './pages/WebhookEndpoint';

type Auth = { status: 'checking' } | { status: 'signed-out'; error?: ApiError } | { status: 'signed-in'; me: AdminMe };

const NAV: { path: string; label: string; scope?: string }[] = [
  { path: '', label: 'Overview' },
  { path: 'consumers', label: 'Consumers', scope: 'consumers:read' },
  { path: 'plans', label: 'Plans', scope: 'plans:read' },
  { path: 'billing', label: 'Billing', scope: 'billing:read' },
  { path: 'audit', label: 'Audit log', scope: 'audit:read' },
  { path: 'webhooks', label: 'Webhooks', scope: 'webhooks:read' },
];

/** Asks the API who the key is; the key is kept only if the API accepts it as an admin key. */
async function whoAmI(): Promise<AdminMe> {
  return call(api.GET('/v1/admin/me'));
}

export function App() {
  const [auth, setAuth] = useState<Auth>(() => (storedKey() ? { status: 'checking' } : { status: 'signed-out' }));

  useEffect(() => {
    if (auth.status !== 'checking') return;
    whoAmI().then(
      (me) => setAuth({ status: 'signed-in', me }),
      (error: ApiError) => {
        forgetKey();
        setAuth({ status: 'signed-out', error });
      },
    );
  }, [auth.status]);

  const signIn = useCallback(async (key: string) => {
    rememberKey(key);
    setAuth({ status: 'checking' });
  }, []);
  const signOut = useCallback(() => {
    forgetKey();
    setAuth({ status: 'signed-out' });
    window.location.hash = '';
  }, []);

  const session = useMemo<Session | null>(
    () => (auth.status === 'signed-in' ? { me: auth.me, can: (scope: string) => grants(auth.me.scopes, scope), signOut } : null),
    [auth, signOut],
  );

  if (auth.status === 'checking') {
    return (
      <main className="container">
        <Loading what="Signing in" />
      </main>
    );
  }
  if (!session) return <SignIn onSignIn={signIn} error={auth.status === 'signed-out' ? auth.error : undefined} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const session = useSession();
  const route = useRoute();
  const [section] = route;
  return (
    <>
      <header className="container-fluid topbar">
        <nav aria-label="Main">
          <ul>
            <li>
              <a href={href()} className="brand">
                <strong>Tollgate</strong>
              </a>
            </li>
          </ul>
          <ul>
            {NAV.filter((n) => !n.scope || session.can(n.scope)).map((n) => (
              <li key={n.path}>
                <a href={href(...(n.path ? [n.path] : []))} aria-current={(section ?? '') === n.path ? 'page' : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
          <ul>
            <li>
              <details className="dropdown">
                <summary data-testid="whoami">{session.me.name}</summary>
                <ul dir="rtl">
                  <li>
                    <small dir="ltr">
                      {session.me.id} · {session.me.environment}
                    </small>
                  </li>
                  <li>
                    <small dir="ltr" data-testid="my-scopes">
                      Scopes: {session.me.scopes.join(', ') || 'none'}
                    </small>
                  </li>
                  <li>
                    <button type="button" className="secondary" onClick={session.signOut}>
                      Sign out
                    </button>
                  </li>
                </ul>
              </details>
            </li>
          </ul>
        </nav>
      </header>
      <main className="container">
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: string[] }) {
  const [section, id] = route;
  switch (section ?? '') {
    case '':
      return <Overview />;
    case 'consumers':
      return id ? <ConsumerPage id={id} /> : <Consumers />;
    case 'keys':
      return id ? <KeyPage id={id} /> : <NotFound />;
    case 'plans':
      return <Plans />;
    case 'billing':
      return <Billing />;
    case 'audit':
      return <AuditLog />;
    case 'webhooks':
      return id ? <WebhookEndpointPage id={id} /> : <Webhooks />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  return <ErrorBox error={new ApiError(404, 'NOT_FOUND', 'There is no such page in the console.', null)} />;
}
