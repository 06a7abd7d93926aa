/** The dashboard: sign-in, then the org's builds, workers, queue and settings. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Session } from '@buildmesh/protocol/browser';
import { errorText, resumeSession, signOut } from './api.js';
import { Link, navigate, useLocation } from './router.js';
import { SignIn } from './pages/sign-in.js';
import { BuildsPage } from './pages/builds.js';
import { BuildPage } from './pages/build.js';
import { InstallPage } from './pages/install.js';
import { WorkersPage } from './pages/workers.js';
import { QueuePage } from './pages/queue.js';
import { SettingsPage } from './pages/settings.js';
import { SessionContext } from './session.js';

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const { path } = useLocation();

  useEffect(() => {
    resumeSession().then(setSession, (err: unknown) => setError(errorText(err)));
  }, []);

  if (error) return <p class="page-error">The controller did not answer: {error}</p>;
  if (session === undefined) return <div class="boot" aria-busy="true" />;
  if (!session) return <SignIn onSignedIn={setSession} />;

  const nav = [
    ['/', 'Builds'],
    ['/queue', 'Queue'],
    ['/workers', 'Workers'],
    ['/settings', 'Settings'],
  ] as const;
  const current = (href: string): boolean => (href === '/' ? path === '/' || path.startsWith('/builds') || path.startsWith('/install') : path.startsWith(href));

  let page;
  let m: RegExpExecArray | null;
  if ((m = /^\/builds\/([^/]+)\/?$/.exec(path))) page = <BuildPage id={decodeURIComponent(m[1]!)} />;
  else if ((m = /^\/install\/([^/]+)\/?$/.exec(path))) page = <InstallPage id={decodeURIComponent(m[1]!)} />;
  else if (path === '/workers') page = <WorkersPage />;
  else if (path === '/queue') page = <QueuePage />;
  else if (path === '/settings') page = <SettingsPage />;
  else if (path === '/' || path === '/builds') page = <BuildsPage />;
  else page = <p class="page-error">Not found</p>;

  return (
    <SessionContext.Provider value={session}>
      <header class="topbar">
        <Link href="/" class="brand" aria-label="BuildMesh home">
          <span class="logo" aria-hidden="true">◆</span> BuildMesh
        </Link>
        <nav aria-label="Main">
          {nav.map(([href, label]) => (
            <Link key={href} href={href} aria-current={current(href) ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <span class="spacer" />
        <span class="who" title={`token ${session.token.name}`}>
          <span class="org">{session.org.name}</span>
          <span class={`role role-${session.token.role}`}>{session.token.role}</span>
        </span>
        <button
          type="button"
          class="ghost small"
          onClick={async () => {
            await signOut();
            setSession(null);
            navigate('/', true);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">{page}</main>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
