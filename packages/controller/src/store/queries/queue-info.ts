import { QUEUE_AHEAD_CAP, type Platform, type QueueInfo } from '@buildmesh/protocol';
import { labelsMatch, toWorkerRecord, type Db } from '../rows.js';
import { laneQueue, type Lane } from './queue-lanes.js';
import { visibleWorkers } from './workers.js';

/**
 * Where a queued build stands among the org's own builds that the workers able
 * to take it could take instead, and, in words, why it waits: no worker could
 * ever take it, none that could is online, or they are all busy with builds
 * ahead. Builds ahead are counted per lane with two index ranges each, and at
 * most QUEUE_AHEAD_CAP + 1 rows are read whatever the queue's length.
 */
export async function queueInfo(db: Db, orgId: string, id: string, onlineWithinMs: number): Promise<QueueInfo | null | undefined> {
  const build = await db
    .selectFrom('builds')
    .select(['id', 'status', 'platform', 'priority', 'labels', 'label_key', 'project_id'])
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!build) return undefined;
  if (build.status !== 'queued') return null;
  const platform = build.platform as Platform;
  const required = JSON.parse(build.labels) as Record<string, string>;

  const onlineSince = new Date(Date.now() - onlineWithinMs).toISOString();
  const workers = (await visibleWorkers(db, orgId).execute())
    .map(toWorkerRecord)
    .filter((w) => w.platforms.includes(platform) && labelsMatch(required, w.labels));
  const online = workers.filter((w) => w.lastSeenAt !== null && w.lastSeenAt >= onlineSince);
  const slots = online.reduce((n, w) => n + w.concurrency, 0);

  // Only the caller's own builds are counted (another org's queue length is not ours to see), in
  // the lanes that some worker able to take this build could take instead.
  const lanes = await db.selectFrom('queue_lanes').select(['label_key', 'labels']).where('org_id', '=', orgId).where('platform', '=', platform).execute();
  const competing = lanes
    .map((l): Lane => ({ orgId, platform, labelKey: l.label_key, labels: JSON.parse(l.labels) as Record<string, string> }))
    .filter((l) => l.labelKey === build.label_key || workers.some((w) => labelsMatch(l.labels, w.labels)));
  let ahead = 0;
  for (const lane of competing) {
    if (ahead > QUEUE_AHEAD_CAP) break;
    ahead += await countUpTo(db, laneQueue(db, lane).where('priority', '>', build.priority), QUEUE_AHEAD_CAP + 1 - ahead);
    if (ahead > QUEUE_AHEAD_CAP) break;
    ahead += await countUpTo(db, laneQueue(db, lane).where('priority', '=', build.priority).where('id', '<', build.id), QUEUE_AHEAD_CAP + 1 - ahead);
  }
  const positionCapped = ahead > QUEUE_AHEAD_CAP;
  const position = Math.min(ahead, QUEUE_AHEAD_CAP) + 1;

  const wanted = Object.entries(required).map(([k, v]) => `${k}=${v}`).join(', ');
  const what = `build ${platform}${wanted ? ` with ${wanted}` : ''}`;
  const aheadText = positionCapped ? `${QUEUE_AHEAD_CAP.toLocaleString('en-US')}+` : String(position - 1);
  let reason: string;
  if (workers.length === 0) reason = `no enrolled worker can ${what}`;
  else if (online.length === 0) reason = `${workers.length} enrolled worker(s) can ${what}, but none is online`;
  else if (position > 1) reason = `${aheadText} build(s) ahead, ${online.length} matching worker(s) online with ${slots} slot(s)`;
  else reason = `waiting for a free slot on ${online.length} matching worker(s)`;

  const durations = await recentDurations(db, orgId, build.project_id, platform, 20);
  const median = durations.length ? [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]! : null;
  const etaSeconds = median !== null && slots > 0 ? Math.round(median * Math.ceil(position / slots)) : null;

  return { position, positionCapped, reason, etaSeconds, matchingWorkers: workers.length, onlineMatchingWorkers: online.length };
}

/** count(*) of a lane range, reading at most `cap` index entries. */
async function countUpTo(db: Db, range: ReturnType<typeof laneQueue>, cap: number): Promise<number> {
  const row = await db
    .selectFrom(range.select('id').limit(cap).as('ahead'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Seconds from start to finish of the project's recent successful builds on the platform, newest first.
 * Walks the builds_recent_finished index newest first and stops after `limit`.
 */
export async function recentDurations(db: Db, orgId: string, projectId: string, platform: Platform, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('builds')
    .innerJoin('attempts', (join) => join.onRef('attempts.build_id', '=', 'builds.id').on('attempts.status', '=', 'succeeded'))
    .select(['attempts.started_at', 'attempts.finished_at'])
    .where('builds.project_id', '=', projectId)
    .where('builds.platform', '=', platform)
    .where('builds.status', '=', 'succeeded')
    .where('builds.org_id', '=', orgId)
    .orderBy('builds.finished_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => (Date.parse(r.finished_at ?? r.started_at) - Date.parse(r.started_at)) / 1000);
}
