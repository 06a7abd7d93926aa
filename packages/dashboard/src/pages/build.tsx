/** One build: what it is, where it stands (queue, attempts, phases), its artifacts and its live log. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { isTerminal, type Artifact, type ArtifactProvenance, type Build, type LogBatchPage, type LogEntry } from '@buildmesh/protocol/browser';
import { api, artifactUrl, errorText } from '../api.js';
import { Link, navigate } from '../router.js';
import { buildDuration, duration, fullTime, shortSha, since, size } from '../format.js';
import { groupLines, LogView, type Phase } from '../log-view.js';
import { useCan } from '../session.js';
import { Copyable, PlatformTag, StatusBadge, useTick } from '../widgets.js';

/**
 * Reading what is stored: the API's largest pages, as the stored batches (format=batches: the
 * controller copies stored text instead of cutting and re-encoding lines; each batch is read once).
 */
const LOG_PAGE = { limit: 50_000, maxBytes: 8 * 1024 * 1024, format: 'batches' };

/**
 * The stored log, page after page until a page is empty or complete. A full page's nextCursor is read
 * from the end of its text before the text is parsed, so the controller prepares the next page while
 * this one is parsed and drawn.
 */
async function* storedLogPages(id: string, signal: AbortSignal): AsyncGenerator<LogBatchPage> {
  const fetchText = async (cursor: string | undefined): Promise<string> => {
    const query = { ...LOG_PAGE, ...(cursor ? { cursor } : {}) };
    return (await api().raw('GET', `/v1/builds/${encodeURIComponent(id)}/logs`, { query, signal })).text();
  };
  let pending = fetchText(undefined);
  for (;;) {
    const text = await pending;
    const end = /"nextCursor":("(?:[^"\\]|\\.)*"),"complete":false\}$/.exec(text.slice(-300));
    const prefetched = end !== null && text.length > PREFETCH_AFTER_BYTES;
    if (prefetched) {
      pending = fetchText(JSON.parse(end[1]!) as string);
      pending.catch(() => undefined); // left unread if the page is closed meanwhile
    }
    const page = JSON.parse(text) as LogBatchPage;
    yield page;
    if (page.complete || page.batches.length === 0) return;
    if (!prefetched) pending = fetchText(page.nextCursor);
  }
}

/** A page longer than this is read ahead of its successor (a shorter one means the stored log is nearly read). */
const PREFETCH_AFTER_BYTES = 256 * 1024;

export function BuildPage({ id }: { id: string }) {
  const [build, setBuild] = useState<Build | null>(null);
  const [artifacts, setArtifacts] = useState<Artifact[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);
  const [streaming, setStreaming] = useState(true);
  const log = useRef<{ lines: LogEntry[]; phases: Phase[] }>({ lines: [], phases: [] });
  const can = useCan();
  const now = useTick(1000);

  const refresh = async (): Promise<void> => {
    try {
      const b = await api().getBuild(id);
      setBuild(b);
      setError(null);
      if (b.status === 'succeeded' || b.status === 'failed') setArtifacts((await api().listArtifacts(id)).artifacts);
    } catch (err) {
      setError(errorText(err));
    }
  };

  useEffect(() => {
    log.current = { lines: [], phases: [] };
    setVersion(0);
    setStreaming(true);
    setBuild(null);
    void refresh();
    const abort = new AbortController();
    let frame = 0;
    let grouped = 0;
    const flush = (): void => {
      frame = 0;
      groupLines(log.current.phases, log.current.lines, grouped);
      grouped = log.current.lines.length;
      setVersion((v) => v + 1);
    };
    (async () => {
      // What is stored already comes in pages (large, fast); then the live tail follows by SSE from there.
      let cursor: string | undefined;
      for await (const page of storedLogPages(id, abort.signal)) {
        for (const batch of page.batches) {
          // Every line of a batch is of its attempt: the entry gets it here, as the API's entries carry it.
          for (const line of batch.lines) {
            const entry = line as LogEntry;
            entry.attempt = batch.attempt;
            log.current.lines.push(entry);
          }
        }
        if (!frame) frame = requestAnimationFrame(flush);
        cursor = page.nextCursor;
        if (page.complete) return;
      }
      const stream = api().followLogs(id, { cursor, signal: abort.signal, onStatus: () => void refresh() });
      for await (const entry of stream) {
        log.current.lines.push(entry);
        if (!frame) frame = requestAnimationFrame(flush);
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        if (abort.signal.aborted) return;
        if (frame) cancelAnimationFrame(frame);
        flush();
        setStreaming(false);
        void refresh();
      });
    // While queued or running, status, queue position and attempts refresh on their own too.
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, 3000);
    return () => {
      abort.abort();
      clearInterval(timer);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [id]);

  if (error && !build) {
    return (
      <div class="page">
        <div class="empty">
          <p class="empty-title">{error === 'Not found' ? 'Not found' : error}</p>
          <p class="muted">
            No build <span class="mono">{id}</span> in this org. <Link href="/">All builds</Link>
          </p>
        </div>
      </div>
    );
  }
  if (!build) return <div class="page"><div class="skeleton" aria-busy="true" /></div>;

  const act = async (what: 'cancel' | 'retry'): Promise<void> => {
    setBusy(true);
    setActionError(null);
    try {
      const b = what === 'cancel' ? await api().cancelBuild(id) : await api().retryBuild(id);
      if (what === 'retry' && b.id !== id) navigate(`/builds/${b.id}`);
      else setBuild({ ...build, ...b });
      void refresh();
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const ended = isTerminal(build.status);
  const archive = artifacts.find((a) => a.kind === 'application-archive');
  const { phases } = log.current;
  const total = phases.reduce((s, p) => s + (p.durationMs ?? Math.max(0, p.lastAt - p.startedAt)), 0) || 1;

  return (
    <div class="page build-page">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/">Builds</Link> / <span class="mono">{build.id}</span>
      </nav>
      <div class="page-head">
        <div>
          <div class="head-line">
            <StatusBadge status={build.status} cancelRequested={build.cancelRequested} />
            <PlatformTag platform={build.platform} />
            <span class="chip">{build.profileName}</span>
          </div>
          <h1 class="build-message">{build.message || 'No message'}</h1>
          <p class="muted">
            <Link href={`/?project=${encodeURIComponent(build.project)}`}>{build.project}</Link> · created {since(build.createdAt, now)}
          </p>
        </div>
        <div class="actions">
          {archive && build.status === 'succeeded' && (
            <Link href={`/install/${build.id}`} class="button primary">
              Install
            </Link>
          )}
          {can.write && !ended && (
            <button type="button" class="danger" disabled={busy || build.cancelRequested} onClick={() => void act('cancel')}>
              {build.cancelRequested ? 'Canceling…' : 'Cancel build'}
            </button>
          )}
          {can.write && ended && (
            <button type="button" disabled={busy} onClick={() => void act('retry')}>
              Retry
            </button>
          )}
        </div>
      </div>
      {actionError && (
        <p class="form-error" role="alert">
          {actionError}
        </p>
      )}
      {build.error && (
        <div class="callout error" role="status">
          <strong>{build.error.code}</strong>
          {build.error.phase && <span class="muted"> in {build.error.phase}</span>}: {build.error.message}
          {build.error.explanation && <p>{build.error.explanation}</p>}
        </div>
      )}
      {build.status === 'queued' && build.queue && (
        <div class="callout info" role="status">
          <strong>
            #{build.queue.position}
            {build.queue.positionCapped ? '+' : ''} in the queue
          </strong>{' '}
          — {build.queue.reason}.{' '}
          {build.queue.etaSeconds !== null ? `Starts in about ${duration(build.queue.etaSeconds * 1000)}.` : 'No estimate yet.'}{' '}
          <span class="muted">
            {build.queue.onlineMatchingWorkers} of {build.queue.matchingWorkers} matching workers online
          </span>
        </div>
      )}

      <dl class="meta">
        <div>
          <dt>Build</dt>
          <dd class="mono">
            {build.id} <Copyable text={build.id} label="Copy build id" />
          </dd>
        </div>
        <div>
          <dt>Submitted by</dt>
          <dd>{build.submittedBy ?? '—'}</dd>
        </div>
        <div>
          <dt>Commit</dt>
          <dd class="mono">{shortSha(build.gitCommit)}</dd>
        </div>
        <div>
          <dt>Queued</dt>
          <dd title={fullTime(build.createdAt)}>{fullTime(build.createdAt)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{fullTime(build.startedAt)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{buildDuration(build, now)}</dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>
            {build.attemptCount} of {build.maxAttempts}
          </dd>
        </div>
        <div>
          <dt>Priority</dt>
          <dd>{build.priority}</dd>
        </div>
        {build.retryOf && (
          <div>
            <dt>Retry of</dt>
            <dd>
              <Link href={`/builds/${build.retryOf}`} class="mono">
                {build.retryOf}
              </Link>
            </dd>
          </div>
        )}
      </dl>

      {phases.length > 0 && (
        <section aria-label="Phases" class="timeline">
          <h2>Phases</h2>
          <ol class="phase-bar">
            {phases.map((p, i) => {
              const ms = p.durationMs ?? Math.max(0, p.lastAt - p.startedAt);
              const state = p.result ?? (streaming && i === phases.length - 1 ? 'running' : 'done');
              return (
                <li key={i} class={`seg seg-${state}`} style={{ flexGrow: String(Math.max(ms / total, 0.02)) }} title={`${p.name}: ${duration(ms)}`}>
                  <span class="seg-name">{p.name.toLowerCase().replace(/_/g, ' ')}</span>
                  <span class="seg-time">{duration(ms)}</span>
                </li>
              );
            })}
          </ol>
        </section>
      )}

      {(build.attempts?.length ?? 0) > 0 && (
        <section aria-label="Attempts">
          <h2>Attempts</h2>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Worker</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Started</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {build.attempts!.map((a) => (
                  <tr key={a.id}>
                    <td>{a.number}</td>
                    <td>{a.workerName}</td>
                    <td>
                      <span class={`badge status-${a.status === 'lost' ? 'failed' : a.status}`}>
                        <span class="dot" aria-hidden="true" />
                        {a.status.replace('_', ' ')}
                      </span>
                    </td>
                    <td>{fullTime(a.startedAt)}</td>
                    <td class="num">{buildDuration(a, now)}</td>
                    <td class="mono">{a.error ? a.error.code : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      {artifacts.length > 0 && (
        <section aria-label="Artifacts">
          <h2>Artifacts</h2>
          <ul class="artifacts">
            {artifacts.map((a) => (
              <li key={a.id} class="artifact">
                <div class="artifact-main">
                  <span class="artifact-name">{a.name}</span>
                  <span class="sub">
                    {a.kind} · {size(a.size)} · attempt {a.attemptNumber}
                  </span>
                  <span class="sha mono" title="sha256">
                    sha256 {a.sha256} <Copyable text={a.sha256} label={`Copy the sha256 of ${a.name}`} />
                  </span>
                </div>
                <a class="button" href={artifactUrl(build.id, a.id)} download={a.name}>
                  Download
                </a>
                {build.status === 'succeeded' && a.attemptNumber === build.attemptCount && <Provenance buildId={build.id} artifact={a} />}
              </li>
            ))}
          </ul>
        </section>
      )}

      <h2>Log</h2>
      <LogView lines={log.current.lines} phases={phases} version={version} live={streaming && !ended} failedPhase={build.error?.phase ?? null} />
    </div>
  );
}

/** The artifact's signed provenance statement, fetched when opened (`buildmesh verify` checks it). */
function Provenance({ buildId, artifact }: { buildId: string; artifact: Artifact }) {
  const [state, setState] = useState<{ provenance?: ArtifactProvenance; error?: string }>({});
  const load = (event: Event) => {
    if (!(event.currentTarget as HTMLDetailsElement).open || state.provenance) return;
    api()
      .artifactProvenance(buildId, artifact.id)
      .then((provenance) => setState({ provenance }), (err: unknown) => setState({ error: errorText(err) }));
  };
  return (
    <details class="provenance" onToggle={load}>
      <summary>Signed provenance</summary>
      {state.error && <p class="error">{state.error}</p>}
      {state.provenance && (
        <>
          <p class="sub">
            in-toto statement, SLSA v1 provenance, signed (Ed25519) by key <span class="mono">{state.provenance.keyid.slice(0, 16)}…</span>. Check a
            downloaded file with <span class="mono">buildmesh verify {artifact.name} --build {buildId}</span>.
          </p>
          <pre class="statement mono" aria-label={`Provenance statement of ${artifact.name}`}>
            {JSON.stringify(state.provenance.statement, null, 2)}
          </pre>
        </>
      )}
    </details>
  );
}
