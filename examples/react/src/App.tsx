/**
 * The whole app: sign in, show who is signed in, call the API (refreshing on a 401), sign out.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { User, UserManager } from 'oidc-client-ts';
import { createApiFetch, SignedOutError, type ApiFetch } from './api-fetch.ts';
import { CALLBACK_PATH, createUserManager, signOut as signOutAtGateway } from './auth.ts';
import { loadConfig, type AppConfig } from './config.ts';

interface Ready {
  config: AppConfig;
  userManager: UserManager;
  apiFetch: ApiFetch;
}

type Phase = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready' };

interface ApiResult {
  status: number;
  body: unknown;
}

function claim(user: User, name: string): string | undefined {
  const value = user.profile[name];
  return typeof value === 'string' ? value : undefined;
}

function timeOf(epochSeconds: number | undefined): string {
  return epochSeconds ? new Date(epochSeconds * 1000).toLocaleTimeString() : '–';
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [user, setUser] = useState<User | null>(null);
  const [endedElsewhere, setEndedElsewhere] = useState(false);
  const [result, setResult] = useState<ApiResult | null>(null);
  const [busy, setBusy] = useState(false);
  const [log, setLog] = useState<string[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const ready = useRef<Ready | null>(null);

  const note = useCallback(
    (line: string) => setLog((lines) => [...lines.slice(-7), `${new Date().toLocaleTimeString()}  ${line}`]),
    [],
  );

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const config = await loadConfig();
      const userManager = createUserManager(config);
      const apiFetch = createApiFetch(userManager, {
        onRefreshed: (fresh) => {
          note('access token refreshed (refresh_token grant)');
          setUser(fresh);
        },
        onSignedOut: () => {
          note('refresh refused: the gateway session has ended');
          setUser(null);
          setEndedElsewhere(true);
        },
      });
      ready.current = { config, userManager, apiFetch };
      if (window.location.pathname === CALLBACK_PATH) {
        // The gateway sent us back with ?code&state: exchange the code (with the PKCE verifier).
        const signedIn = await userManager.signinRedirectCallback();
        window.history.replaceState(null, '', '/');
        if (!cancelled) {
          setUser(signedIn);
          note('signed in');
        }
      } else if (!cancelled) {
        setUser(await userManager.getUser());
      }
      if (!cancelled) setPhase({ kind: 'ready' });
    })().catch((error: unknown) => {
      if (!cancelled) setPhase({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
    });
    return () => {
      cancelled = true;
    };
  }, [note]);

  const failed = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    note(`failed: ${message}`);
    setProblem(message);
  };
  const signIn = () => void ready.current?.userManager.signinRedirect().catch(failed);
  const signOut = () => void (ready.current ? signOutAtGateway(ready.current.userManager).catch(failed) : undefined);

  const callApi = async () => {
    const current = ready.current;
    if (!current) return;
    setBusy(true);
    try {
      const response = await current.apiFetch(current.config.apiUrl);
      const body: unknown = (response.headers.get('content-type') ?? '').includes('json')
        ? await response.json()
        : await response.text();
      note(`GET ${new URL(current.config.apiUrl).pathname} → ${response.status}`);
      setResult({ status: response.status, body });
    } catch (error) {
      if (!(error instanceof SignedOutError)) {
        note(`API call failed: ${error instanceof Error ? error.message : String(error)}`);
        setResult(null);
      } else {
        setResult(null);
      }
    } finally {
      setBusy(false);
    }
  };

  if (phase.kind === 'loading') {
    return (
      <main className="card" aria-busy="true">
        <p className="muted">Loading…</p>
      </main>
    );
  }
  if (phase.kind === 'failed') {
    return (
      <main className="card">
        <h1>Something went wrong</h1>
        <p role="alert" className="error">
          {phase.message}
        </p>
        <p>
          <a className="button" href="/">
            Start again
          </a>
        </p>
      </main>
    );
  }

  if (!user) {
    return (
      <main className="card">
        <p className="brand">React example</p>
        <h1>You are signed out</h1>
        <p role="status">
          {endedElsewhere
            ? 'Your session at the gateway has ended (you signed out in another app). Sign in again to continue.'
            : 'This single-page app signs in at the gateway with OpenID Connect (code + PKCE) and keeps its tokens in memory only.'}
        </p>
        {problem ? (
          <p role="alert" className="error">
            {problem}
          </p>
        ) : null}
        <div className="actions">
          <button type="button" onClick={signIn}>
            Sign in
          </button>
        </div>
      </main>
    );
  }

  const name = claim(user, 'name') ?? claim(user, 'preferred_username') ?? user.profile.sub;
  return (
    <main className="card wide">
      <p className="brand">React example</p>
      <h1>Signed in as {name}</h1>
      <dl className="facts">
        <dt>E-mail</dt>
        <dd>{claim(user, 'email') ?? '–'}</dd>
        <dt>User name</dt>
        <dd>{claim(user, 'preferred_username') ?? '–'}</dd>
        <dt>Subject (sub)</dt>
        <dd>
          <code>{user.profile.sub}</code>
        </dd>
        <dt>Access token expires</dt>
        <dd>{timeOf(user.expires_at)}</dd>
      </dl>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={() => void callApi()} disabled={busy}>
          Call the API
        </button>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </div>
      <section aria-labelledby="api-heading">
        <h2 id="api-heading">API answer</h2>
        <div role="status" aria-live="polite" id="api-result">
          {result ? (
            <>
              <p>
                HTTP <strong data-status={result.status}>{result.status}</strong>
              </p>
              <pre>{JSON.stringify(result.body, null, 2)}</pre>
            </>
          ) : (
            <p className="muted">Not called yet.</p>
          )}
        </div>
      </section>
      <section aria-labelledby="log-heading">
        <h2 id="log-heading">What happened</h2>
        <ol className="log">
          {log.map((line, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the log only grows at its end, never reorders
            <li key={index}>{line}</li>
          ))}
        </ol>
      </section>
    </main>
  );
}
