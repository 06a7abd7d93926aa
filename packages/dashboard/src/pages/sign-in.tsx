import { useEffect, useState } from 'preact/hooks';
import type { Session } from '@buildmesh/protocol/browser';
import { errorText, signIn } from '../api.js';

/** Paste an API token once: it is exchanged for a session cookie and forgotten by the page. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Single sign-on is offered when the operator configured an issuer (GET /v1/sso).
  const [sso, setSso] = useState(false);
  useEffect(() => {
    void fetch('/v1/sso')
      .then((r) => (r.ok ? (r.json() as Promise<{ enabled: boolean }>) : { enabled: false }))
      .then((body) => setSso(body.enabled), () => undefined);
  }, []);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(token);
      setToken('');
      onSignedIn(session);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit}>
        <h1>
          <span class="logo" aria-hidden="true">◆</span> BuildMesh
        </h1>
        <p class="muted">Sign in with an API token of your org. It is exchanged for a session and not kept by this page.</p>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          placeholder="bmt_…"
        />
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy || !token}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">
          Create one with <code>buildmesh admin token create me --role member</code>.
        </p>
        {sso && (
          <a class="button sso" href="/v1/sso/login">
            Sign in with SSO
          </a>
        )}
      </form>
    </main>
  );
}
