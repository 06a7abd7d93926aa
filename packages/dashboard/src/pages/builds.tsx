/** The org's builds, newest first, live (SSE); filters live in the URL so a view can be shared. */
import { useEffect, useState } from 'preact/hooks';
import type { Build, BuildStatus, ListBuildsQuery, Platform } from '@buildmesh/protocol/browser';
import { api, errorText } from '../api.js';
import { Link, navigate, useLocation } from '../router.js';
import { buildDuration, shortSha, since, fullTime } from '../format.js';
import { Empty, PlatformTag, StatusBadge, useTick } from '../widgets.js';

const STATUSES: BuildStatus[] = ['queued', 'running', 'succeeded', 'failed', 'canceled', 'timed_out'];
const PAGE_SIZE = 50;

export function BuildsPage() {
  const { search } = useLocation();
  const filters = {
    status: (search.get('status') || undefined) as BuildStatus | undefined,
    platform: (search.get('platform') || undefined) as Platform | undefined,
    profile: search.get('profile') || undefined,
    project: search.get('project') || undefined,
  };
  const cursor = search.get('cursor') || undefined;
  const q = search.get('q') ?? '';
  const [builds, setBuilds] = useState<Build[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useTick(1000);
  // The search box filters the page shown; only the server-side filters and the cursor re-open the stream.
  const key = JSON.stringify([filters, cursor]);

  // Live: the controller sends the page again whenever it changes (SSE), reconnecting after a drop.
  useEffect(() => {
    const abort = new AbortController();
    const query: ListBuildsQuery = { ...filters, cursor, limit: PAGE_SIZE };
    (async () => {
      for await (const page of api().followBuilds(query, { signal: abort.signal })) {
        setBuilds(page.builds);
        setNext(page.nextCursor);
        setError(null);
      }
    })().catch((err: unknown) => {
      if (!abort.signal.aborted) setError(errorText(err));
    });
    return () => abort.abort();
  }, [key]);

  const setParam = (name: string, value: string | undefined): void => {
    const params = new URLSearchParams(location.search);
    if (value) params.set(name, value);
    else params.delete(name);
    if (name !== 'cursor') params.delete('cursor');
    const s = params.toString();
    navigate(s ? `/?${s}` : '/', true);
  };

  const needle = q.trim().toLowerCase();
  const shown = (builds ?? []).filter(
    (b) => !needle || [b.id, b.message ?? '', b.gitCommit ?? '', b.project, b.profileName].some((f) => f.toLowerCase().includes(needle)),
  );

  return (
    <div class="page">
      <div class="page-head">
        <h1>Builds</h1>
      </div>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          <span>Search</span>
          <input type="search" placeholder="Message, commit, id…" value={q} onInput={(e) => setParam('q', (e.target as HTMLInputElement).value)} />
        </label>
        <label>
          <span>Status</span>
          <select value={filters.status ?? ''} onChange={(e) => setParam('status', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Platform</span>
          <select value={filters.platform ?? ''} onChange={(e) => setParam('platform', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            <option value="android">Android</option>
            <option value="ios">iOS</option>
            <option value="web">Web</option>
          </select>
        </label>
        <label>
          <span>Profile</span>
          <input value={filters.profile ?? ''} placeholder="any" onChange={(e) => setParam('profile', (e.target as HTMLInputElement).value.trim())} />
        </label>
        <label>
          <span>Project</span>
          <input value={filters.project ?? ''} placeholder="any" onChange={(e) => setParam('project', (e.target as HTMLInputElement).value.trim())} />
        </label>
      </form>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {builds === null ? (
        <div class="skeleton" aria-busy="true" />
      ) : shown.length === 0 ? (
        <Empty title="No builds here yet">
          Submit one with <code>buildmesh build --platform android</code>.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="builds">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Build</th>
                <th scope="col">Platform · profile</th>
                <th scope="col">Commit</th>
                <th scope="col">Queued</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((b) => (
                <tr key={b.id} data-build={b.id}>
                  <td>
                    <StatusBadge status={b.status} cancelRequested={b.cancelRequested} />
                  </td>
                  <td class="build-cell">
                    <Link href={`/builds/${b.id}`} class="build-title">
                      {b.message || <span class="muted">No message</span>}
                    </Link>
                    <span class="sub">
                      {b.project} · <span class="mono">{b.id.slice(-8)}</span>
                      {b.submittedBy && <> · by {b.submittedBy}</>}
                      <span class="narrow-only">
                        {' '}
                        · {b.platform} · {b.profileName} · {buildDuration(b, now)}
                      </span>
                    </span>
                  </td>
                  <td>
                    <PlatformTag platform={b.platform} /> <span class="sub">{b.profileName}</span>
                  </td>
                  <td class="mono">{shortSha(b.gitCommit)}</td>
                  <td title={fullTime(b.createdAt)}>{since(b.createdAt, now)}</td>
                  <td title={fullTime(b.startedAt)}>{since(b.startedAt, now)}</td>
                  <td class="num">{buildDuration(b, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="pager">
        {cursor && (
          <button type="button" class="ghost" onClick={() => history.back()}>
            ← Newer
          </button>
        )}
        <span class="spacer" />
        {next && (
          <button type="button" class="ghost" onClick={() => navigate(`/?${new URLSearchParams({ ...Object.fromEntries(search), cursor: next })}`)}>
            Older →
          </button>
        )}
      </div>
    </div>
  );
}
