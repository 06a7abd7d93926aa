import type { Kysely } from 'kysely';
import type { ResolvedProfile } from '@buildmesh/protocol';
import { newId } from '../../ids.js';
import { isoAfter, labelsMatch, nowIso, selectBuilds, toAttempt, toBuild, type Db } from '../rows.js';
import type { Database } from '../schema.js';
import type { Claimant, ClaimedJob } from '../store.js';

/**
 * How many queued builds one claim reads per round. The first round is small
 * because the first candidate usually matches (labels rarely filter): reading 64
 * rows and their labels for the one we take was most of a claim's store time.
 * Later rounds, when labels did filter, read more at once.
 */
const FIRST_SCAN = 8;
const SCAN = 64;
const MAX_SCANNED = 1024;

/**
 * The queue's one hand-out, as a single transaction: free slot check, best
 * matching queued build (priority, then age), attempt with a lease, build marked
 * running. The `status = 'queued'` guard on the update plus the transaction (and
 * on PostgreSQL `FOR UPDATE SKIP LOCKED`) make a double hand-out impossible.
 */
export async function claim(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', c: Claimant): Promise<ClaimedJob | undefined> {
  if (c.platforms.length === 0) return undefined;
  return db.transaction().execute(async (trx) => {
    // PostgreSQL: claims of one worker through several replicas queue up on its row, so the slot count below is exact.
    if (dialect === 'postgres') await trx.selectFrom('workers').select('id').where('id', '=', c.workerId).forUpdate().execute();
    const busy = await trx
      .selectFrom('attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('worker_id', '=', c.workerId)
      .where('status', '=', 'running')
      .executeTakeFirstOrThrow();
    if (Number(busy.n) >= c.concurrency) return undefined;

    for (let offset = 0, limit = FIRST_SCAN; offset < MAX_SCANNED; offset += limit, limit = SCAN) {
      let candidates = trx
        .selectFrom('builds')
        .select(['id', 'labels'])
        .where('status', '=', 'queued')
        .where('platform', 'in', c.platforms)
        .orderBy('priority', 'desc')
        .orderBy('id', 'asc')
        .limit(limit)
        .offset(offset);
      if (c.orgId !== null) candidates = candidates.where('org_id', '=', c.orgId);
      if (dialect === 'postgres') candidates = candidates.forUpdate().skipLocked();
      const rows = await candidates.execute();
      const pick = rows.find((r) => labelsMatch(JSON.parse(r.labels) as Record<string, string>, c.labels));
      if (pick) return take(trx, c, pick.id);
      if (rows.length < limit) return undefined;
    }
    return undefined;
  });
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
  const claimed = toBuild({ ...build, status: 'running', attempt_count: number, started_at: build.started_at ?? now }, { withProfile: true });
  return {
    build: {
      ...claimed,
      profile: JSON.parse(build.profile) as ResolvedProfile,
      env: JSON.parse(build.env) as Record<string, string>,
      queuedAt: build.queued_at,
    } as ClaimedJob['build'],
    attempt: toAttempt({ ...attempt, worker_name: null }),
  };
}
