import type { Platform } from '@buildmesh/protocol';
import { newId } from '../../ids.js';
import { isPostgres, isoAfter, nowIso, selectBuilds, toClaimedJob, type Db } from '../rows.js';
import { prepared } from '../prepared.js';
import { laneQueue, lanesMatching, type Lane } from './queue-lanes.js';
import type { Claimant, ClaimedJob } from '../store.js';
import { emitBuildEvent, inTransaction } from './webhook-events.js';
import { claimOrgLane } from './claim-org-pg.js';
import { NO_LIMITS, orgsAtSharedLimit, runningByOrg, sharedHeads, sharedLanesPerOrg, sharedRunningOf, type OrgLimits } from './fair-share.js';
import { LOCK_CLASS, lockForTransaction, tryLockForTransaction } from '../advisory-locks.js';

/**
 * The queue's one hand-out, as a single transaction: free slot check, best
 * queued build this worker can take (priority, then age), attempt with a lease,
 * build marked running. Labels are matched on queue lanes (queue-lanes.ts), so
 * the cost is one index probe per lane the worker can serve, whatever number of
 * builds it cannot take sits ahead. The `status = 'queued'` guard on the update
 * plus the transaction (and on PostgreSQL `FOR UPDATE SKIP LOCKED`) make a
 * double hand-out impossible.
 */
/** The worker's running attempts, checked by every claim: prepared (prepared.ts). */
const runningOf = prepared(1, (db, workerId: string) =>
  db.selectFrom('attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('worker_id', '=', workerId).where('status', '=', 'running'),
);

/**
 * A lane's next build in claim order. PostgreSQL: the first one no concurrent claimer holds, locked
 * until commit (the heads of the lanes not taken are released then): one round trip per lane, and
 * never a head another claim has. Prepared (prepared.ts): read for every lane of every claim.
 */
export function laneHeadQuery(db: Db, orgId: string, platform: string, labelKey: string) {
  const head = laneQueue(db, { orgId, platform: platform as Platform, labelKey }).select(['id', 'priority']).orderBy('priority', 'desc').orderBy('id', 'asc').limit(1);
  return isPostgres(db) ? head.forUpdate().skipLocked() : head;
}
const laneHead = prepared(3, laneHeadQuery);

export async function claim(db: Db, dialect: 'sqlite' | 'postgres', c: Claimant, limits: OrgLimits = NO_LIMITS): Promise<ClaimedJob | undefined> {
  if (c.platforms.length === 0) return undefined;
  // PostgreSQL, an org's worker: one statement (claim-org-pg.ts), unless a webhook must hear of build.started.
  if (dialect === 'postgres' && c.orgId !== null && !db.isTransaction) {
    const r = await claimOrgLane(db, { ...c, orgId: c.orgId });
    if ('job' in r) return r.job;
  }
  return inTransaction(db, async (trx) => {
    // PostgreSQL: claims of one worker through several replicas queue up on its row, so the slot count below is exact.
    if (dialect === 'postgres') await trx.selectFrom('workers').select('id').where('id', '=', c.workerId).forUpdate().execute();
    const [busy] = (await runningOf(trx, c.workerId)).rows;
    if (Number(busy!.n) >= c.concurrency) return undefined;

    // The shared pool shares fairly: priority, then the org with the fewest running builds in the pool, then age.
    if (c.orgId === null) return claimFair(trx, c, limits);
    let best: { id: string; priority: number; lane: Lane } | undefined;
    for (const lane of await lanesMatching(trx, c.orgId, c.platforms, c.labels)) {
      const [row] = (await laneHead(trx, lane.orgId, lane.platform, lane.labelKey)).rows;
      if (row && (!best || row.priority > best.priority || (row.priority === best.priority && row.id < best.id))) best = { ...row, lane };
    }
    if (!best) return undefined;
    return take(trx, c, best.id);
  });
}

/**
 * A shared-pool claim: each org's lane heads are compared, so one org's backlog cannot hold every
 * shared worker while another org waits. Orgs at BUILDMESH_ORG_MAX_SHARED_RUNNING are skipped.
 * Still one transaction: the running counts are read inside it (on PostgreSQL the heads are locked
 * SKIP LOCKED as before, and the limit is checked again under the org's lock: takeWithinSharedLimit).
 */
async function claimFair(trx: Db, c: Claimant, limits: OrgLimits): Promise<ClaimedJob | undefined> {
  const heads = isPostgres(trx) ? await lockedSharedHeads(trx, c, limits) : await sharedHeads(trx, c.platforms, c.labels);
  if (heads.length === 0) return undefined;
  // Only with a limit: the orgs already at it are skipped.
  const atLimit = limits.maxSharedRunning > 0 && !isPostgres(trx) ? await orgsAtSharedLimit(trx, limits.maxSharedRunning) : new Set<string>();
  const open = atLimit.size > 0 ? heads.filter((h) => !atLimit.has(h.orgId)) : heads;
  if (open.length === 0) return undefined;
  const top = Math.max(...open.map((h) => h.priority));
  const tied = open.filter((h) => h.priority === top);
  // PostgreSQL reads the running counts only when orgs tie at the top priority; SQLite has them with the heads.
  const orgs = [...new Set(tied.map((h) => h.orgId))];
  const running = orgs.length > 1 && tied.some((h) => h.running === undefined) ? await runningByOrg(trx, orgs) : undefined;
  const load = (h: { orgId: string; running?: number }) => h.running ?? running?.get(h.orgId) ?? 0;
  tied.sort((x, y) => load(x) - load(y) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  if (limits.maxSharedRunning > 0 && isPostgres(trx)) {
    // Behind the tied heads, the lower-priority ones: if the first choice reached the limit while this claim
    // waited for its lock, another org's build is taken now instead of the worker parking until a re-check.
    const rest = open.filter((h) => h.priority < top).sort((x, y) => y.priority - x.priority || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    return takeWithinSharedLimit(trx, c, limits.maxSharedRunning, [...tied, ...rest]);
  }
  return take(trx, c, tied[0]!.id);
}

/**
 * PostgreSQL with BUILDMESH_ORG_MAX_SHARED_RUNNING: the org's running count and the take are one step under
 * its shared-pool lock, so claims racing on any replica cannot together pass the limit. The first candidate's
 * lock is waited for; the others' only taken if free (one wait per transaction: no lock cycle can form).
 */
async function takeWithinSharedLimit(trx: Db, c: Claimant, limit: number, candidates: Array<{ id: string; orgId: string }>): Promise<ClaimedJob | undefined> {
  for (const [i, h] of candidates.entries()) {
    if (i === 0) await lockForTransaction(trx, LOCK_CLASS.orgShared, h.orgId);
    else if (!(await tryLockForTransaction(trx, LOCK_CLASS.orgShared, h.orgId))) continue;
    if ((await sharedRunningOf(trx, h.orgId)) < limit) return take(trx, c, h.id);
  }
  return undefined;
}

/** PostgreSQL: each org's lane heads, each locked SKIP LOCKED (one probe per lane); orgs at the shared limit are not probed. */
async function lockedSharedHeads(trx: Db, c: Claimant, limits: OrgLimits): Promise<Array<{ id: string; priority: number; orgId: string; running?: number }>> {
  const lanes = await sharedLanesPerOrg(trx, c.platforms, c.labels);
  if (lanes.length === 0) return [];
  const atLimit = limits.maxSharedRunning > 0 ? await orgsAtSharedLimit(trx, limits.maxSharedRunning) : new Set<string>();
  const heads: Array<{ id: string; priority: number; orgId: string }> = [];
  for (const lane of lanes) {
    if (atLimit.has(lane.orgId)) continue;
    const [row] = (await laneHead(trx, lane.orgId, lane.platform, lane.labelKey)).rows;
    if (row) heads.push({ ...row, orgId: lane.orgId });
  }
  return heads;
}

async function take(trx: Db, c: Claimant, buildId: string): Promise<ClaimedJob | undefined> {
  const build = await selectBuilds(trx).where('builds.id', '=', buildId).executeTakeFirstOrThrow();
  const now = nowIso();
  const number = build.attempt_count + 1;
  const updated = await trx
    .updateTable('builds')
    .set({ status: 'running', attempt_count: number, started_at: build.started_at ?? now })
    .where('id', '=', buildId)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1) return undefined;
  const attempt = {
    id: newId('att'),
    build_id: buildId,
    org_id: build.org_id,
    number,
    worker_id: c.workerId,
    status: 'running',
    started_at: now,
    finished_at: null,
    lease_expires_at: isoAfter(c.leaseTtlMs),
    deadline_at: isoAfter(build.timeout_s * 1000),
    error_code: null,
    error_message: null,
    error_phase: null,
    last_log_seq: 0,
  };
  await trx.insertInto('attempts').values(attempt).execute();
  await emitBuildEvent(trx, buildId, 'build.started');
  return toClaimedJob({ ...build, status: 'running', attempt_count: number, started_at: build.started_at ?? now }, attempt);
}
