/** What waits, in the order it will start (priority, then age), why, and the capacity per platform. */
import { useState } from 'preact/hooks';
import type { Build, Platform, WorkerInfo } from '@buildmesh/protocol/browser';
import { api, errorText } from '../api.js';
import { Link } from '../router.js';
import { duration, since } from '../format.js';
import { Empty, PlatformTag, usePoll, useTick } from '../widgets.js';

/** Queue details (position, reason, ETA) are read for this many builds at the head of the queue. */
const DETAILED = 25;

export function QueuePage() {
  const [queued, setQueued] = useState<Build[] | null>(null);
  const [workers, setWorkers] = useState<WorkerInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const now = useTick(5000);
  usePoll(
    async () => {
      try {
        const [list, fleet] = await Promise.all([api().listBuilds({ status: 'queued', limit: 200 }), api().listWorkers()]);
        const sorted = list.builds.sort((a, b) => b.priority - a.priority || a.createdAt.localeCompare(b.createdAt));
        const detailed = await Promise.all(sorted.slice(0, DETAILED).map((b) => api().getBuild(b.id).catch(() => b)));
        setQueued([...detailed, ...sorted.slice(DETAILED)]);
        setWorkers(fleet.workers);
        setError(null);
      } catch (err) {
        setError(errorText(err));
      }
    },
    3000,
    [],
  );

  const platforms: Platform[] = ['android', 'ios', 'web'];
  const capacity = platforms.map((p) => {
    const online = workers.filter((w) => w.state === 'online' && w.platforms.includes(p));
    return {
      platform: p,
      workers: online.length,
      slots: online.reduce((s, w) => s + w.concurrency, 0),
      busy: online.reduce((s, w) => s + w.busySlots, 0),
      waiting: (queued ?? []).filter((b) => b.platform === p).length,
    };
  });

  return (
    <div class="page">
      <div class="page-head">
        <h1>Queue</h1>
      </div>
      <div class="capacity">
        {capacity.map((c) => (
          <div key={c.platform} class="card stat">
            <PlatformTag platform={c.platform} />
            <span class="stat-value">
              {c.busy}/{c.slots}
            </span>
            <span class="muted small">
              slots busy on {c.workers} online worker{c.workers === 1 ? '' : 's'} · {c.waiting} waiting
            </span>
            <span class="meter" aria-hidden="true">
              <span style={{ width: `${c.slots ? Math.round((c.busy / c.slots) * 100) : 0}%` }} />
            </span>
          </div>
        ))}
      </div>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {queued === null ? (
        <div class="skeleton" aria-busy="true" />
      ) : queued.length === 0 ? (
        <Empty title="Nothing is waiting">Every submitted build has started.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Build</th>
                <th scope="col">Platform</th>
                <th scope="col">Priority</th>
                <th scope="col">Waiting</th>
                <th scope="col">Why</th>
                <th scope="col">ETA</th>
              </tr>
            </thead>
            <tbody>
              {queued.map((b, i) => (
                <tr key={b.id}>
                  <td class="num">{b.queue ? `${b.queue.position}${b.queue.positionCapped ? '+' : ''}` : i + 1}</td>
                  <td class="build-cell">
                    <Link href={`/builds/${b.id}`} class="build-title">
                      {b.message || <span class="muted">No message</span>}
                    </Link>
                    <span class="sub">
                      {b.project} · {b.profileName}
                    </span>
                  </td>
                  <td>
                    <PlatformTag platform={b.platform} />
                  </td>
                  <td class="num">{b.priority}</td>
                  <td>{since(b.createdAt, now)}</td>
                  <td>{b.queue?.reason ?? <span class="muted">—</span>}</td>
                  <td>{b.queue?.etaSeconds != null ? duration(b.queue.etaSeconds * 1000) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
