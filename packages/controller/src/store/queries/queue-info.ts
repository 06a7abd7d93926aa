import type { Platform, QueueInfo } from '@buildmesh/protocol';
import { labelsMatch, toWorkerRecord, type Db } from '../rows.js';
import { visibleWorkers } from './workers.js';

/**
 * Where a queued build stands among the org's own builds and, in words, why it
 * waits: no worker could ever take it, none that could is online, or they are
 * all busy with builds ahead.
 */
export async function queueInfo(db: Db, orgId: string, id: string, onlineWithinMs: number): Promise<QueueInfo | null | undefined> {
  const build = await db
    .selectFrom('builds')
    .select(['id', 'status', 'platform', 'priority', 'labels', 'project_id'])
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!build) return undefined;
  if (build.status !== 'queued') return null;
  const platform = build.platform as Platform;
  const required = JSON.parse(build.labels) as Record<string, string>;

  // Only the caller's own builds are counted: another org's queue length is not ours to see.
  const ahead = await db
    .selectFrom('builds')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('org_id', '=', orgId)
    .where('status', '=', 'queued')
    .where('platform', '=', platform)
    .where((eb) => eb.or([eb('priority', '>', build.priority), eb.and([eb('priority', '=', build.priority), eb('id', '<', build.id)])]))
    .executeTakeFirstOrThrow();
  const position = Number(ahead.n) + 1;

  const onlineSince = new Date(Date.now() - onlineWithinMs).toISOString();
  const workers = (await visibleWorkers(db, orgId).execute())
    .map(toWorkerRecord)
    .filter((w) => w.platforms.includes(platform) && labelsMatch(required, w.labels));
  const online = workers.filter((w) => w.lastSeenAt !== null && w.lastSeenAt >= onlineSince);
  const slots = online.reduce((n, w) => n + w.concurrency, 0);

  const wanted = Object.entries(required).map(([k, v]) => `${k}=${v}`).join(', ');
  const what = `build ${platform}${wanted ? ` with ${wanted}` : ''}`;
  let reason: string;
  if (workers.length === 0) reason = `no enrolled worker can ${what}`;
  else if (online.length === 0) reason = `${workers.length} enrolled worker(s) can ${what}, but none is online`;
  else if (position > 1) reason = `${position - 1} build(s) ahead, ${online.length} matching worker(s) online with ${slots} slot(s)`;
  else reason = `waiting for a free slot on ${online.length} matching worker(s)`;

  const durations = await recentDurations(db, orgId, build.project_id, platform, 20);
  const median = durations.length ? [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]! : null;
  const etaSeconds = median !== null && slots > 0 ? Math.round(median * Math.ceil(position / slots)) : null;

  return { position, reason, etaSeconds, matchingWorkers: workers.length, onlineMatchingWorkers: online.length };
}

/** Seconds from start to finish of the project's recent successful builds on the platform, newest first. */
export async function recentDurations(db: Db, orgId: string, projectId: string, platform: Platform, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('attempts')
    .innerJoin('builds', 'builds.id', 'attempts.build_id')
    .select(['attempts.started_at', 'attempts.finished_at'])
    .where('builds.org_id', '=', orgId)
    .where('builds.project_id', '=', projectId)
    .where('builds.platform', '=', platform)
    .where('attempts.status', '=', 'succeeded')
    .orderBy('attempts.finished_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => (Date.parse(r.finished_at ?? r.started_at) - Date.parse(r.started_at)) / 1000);
}
