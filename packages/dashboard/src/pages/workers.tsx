/** The fleet: who can build what, how busy, and when each was last heard from. Admins revoke. */
import { useState } from 'preact/hooks';
import type { WorkerInfo } from '@buildmesh/protocol/browser';
import { api, errorText } from '../api.js';
import { Link } from '../router.js';
import { fullTime, since } from '../format.js';
import { useCan } from '../session.js';
import { Empty, PlatformTag, usePoll, useTick } from '../widgets.js';

export function WorkersPage() {
  const [workers, setWorkers] = useState<WorkerInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const can = useCan();
  const now = useTick(5000);
  const load = async (): Promise<void> => {
    try {
      setWorkers((await api().listWorkers()).workers);
      setError(null);
    } catch (err) {
      setError(errorText(err));
    }
  };
  usePoll(load, 3000, []);

  const revoke = async (w: WorkerInfo): Promise<void> => {
    if (!confirm(`Revoke worker ${w.name}? It stops at once and must enroll again.`)) return;
    try {
      await api().removeWorker(w.id);
      await load();
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <div class="page">
      <div class="page-head">
        <h1>Workers</h1>
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {workers === null ? (
        <div class="skeleton" aria-busy="true" />
      ) : workers.length === 0 ? (
        <Empty title="No workers enrolled">
          Start one with <code>buildmesh worker --enroll &lt;enrollment token&gt;</code>.
        </Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">State</th>
                <th scope="col">Platforms</th>
                <th scope="col">Labels · toolchains</th>
                <th scope="col">Slots</th>
                <th scope="col">Running</th>
                <th scope="col">Last seen</th>
                {can.admin && <th scope="col"><span class="sr-only">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => (
                <tr key={w.id}>
                  <td>
                    <strong>{w.name}</strong>
                    <span class="sub">
                      {w.pool} pool · v{w.version}
                    </span>
                  </td>
                  <td>
                    <span class={`badge state-${w.state}`}>
                      <span class="dot" aria-hidden="true" />
                      {w.state}
                    </span>
                  </td>
                  <td>
                    {w.platforms.map((p) => (
                      <PlatformTag key={p} platform={p} />
                    ))}
                  </td>
                  <td class="chips">
                    {Object.entries(w.labels).map(([k, v]) => (
                      <span key={k} class="chip">
                        {k}={v}
                      </span>
                    ))}
                    {Object.entries(w.toolchains).map(([k, v]) => (
                      <span key={`t${k}`} class="chip tool">
                        {k} {v}
                      </span>
                    ))}
                  </td>
                  <td class="num">
                    <span class="slots" aria-label={`${w.busySlots} of ${w.concurrency} slots busy`}>
                      {w.busySlots}/{w.concurrency}
                    </span>
                  </td>
                  <td>
                    {w.currentBuilds.map((b) => (
                      <Link key={b} href={`/builds/${b}`} class="mono">
                        {b.slice(-8)}
                      </Link>
                    ))}
                    {w.currentBuilds.length === 0 && <span class="muted">—</span>}
                  </td>
                  <td title={fullTime(w.lastSeenAt)}>{since(w.lastSeenAt, now)}</td>
                  {can.admin && (
                    <td>
                      <button type="button" class="danger small" onClick={() => void revoke(w)} aria-label={`Revoke worker ${w.name}`}>
                        Revoke
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
