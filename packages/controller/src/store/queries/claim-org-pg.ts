/**
 * PostgreSQL's claim for an org's own worker in one statement, outside any explicit transaction
 * (one round trip instead of BEGIN, a row lock, a probe per lane, five more and COMMIT):
 * - slots: the worker's row is locked `FOR UPDATE` (claims of one worker through any replica take
 *   turns on it, as on the transactional path), then its running attempts are counted by a VOLATILE
 *   function (migration 0022), which reads with a snapshot of its own taken after the lock: the
 *   statement's own snapshot, taken before it waited, would miss the attempt of the claim it waited for;
 * - lanes: the org's lanes on the worker's platforms whose labels the worker's contain (jsonb
 *   containment, as labelsMatch); each lane's head is taken `FOR UPDATE SKIP LOCKED`, so a build
 *   another claim holds is skipped and no build is leased twice; the best head (priority, then age)
 *   is marked running with its attempt;
 * - a webhook of the org that hears of `build.started` needs its outbox row in the claim's
 *   transaction: then nothing is written (`hooked`) and the caller runs the transactional path.
 * Named statement (pg-statements.ts). The shared pool's fair claim stays in claim.ts.
 */
import { CompiledQuery } from 'kysely';
import { newId } from '../../ids.js';
import { isoAfter, nowIso, toClaimedJob, type Db } from '../rows.js';
import type { BuildsTable } from '../schema.js';
import type { Claimant, ClaimedJob } from '../store.js';
import { nameStatement } from '../pg-statements.js';

// $1 worker, $2 org, $3 platforms, $4 offered labels (JSON), $5 concurrency, $6 now, $7 attempt id, $8 lease expiry.
/** Exported for the plan test (on-postgres-a-claim-reads-the-queue-not-the-orgs-history). */
export const CLAIM = `with hook as (select 1 from webhooks where org_id = $2 and events like '%"build.started"%' limit 1),
w as (select id from workers where id = $1 and not exists (select 1 from hook) for update),
busy as (select buildmesh_running_attempts(id) as n from w),
lanes as (select platform, label_key from queue_lanes where org_id = $2 and platform = any($3::text[]) and $4::jsonb @> labels::jsonb),
heads as (select h.id, h.priority from lanes l cross join lateral (
    select b.id, b.priority from builds b
    where b.status = 'queued' and b.org_id = $2 and b.platform = l.platform and b.label_key = l.label_key
    order by b.priority desc, b.id asc limit 1 for update skip locked) h),
pick as (select id from heads where (select n from busy) < $5::integer order by priority desc, id asc limit 1),
upd as (update builds b set status = 'running', attempt_count = b.attempt_count + 1, started_at = coalesce(b.started_at, $6::text)
    from pick where b.id = pick.id and b.status = 'queued' returning b.*),
att as (insert into attempts (id, build_id, org_id, number, worker_id, status, started_at, finished_at, lease_expires_at, deadline_at, error_code, error_message, error_phase, last_log_seq)
    select $7::text, upd.id, upd.org_id, upd.attempt_count, $1::text, 'running', $6::text, null, $8::text,
      to_char(($6::timestamptz + make_interval(secs => upd.timeout_s)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), null, null, null, 0
    from upd returning deadline_at),
job as (select upd.*, p.name as project_name, (select deadline_at from att) as deadline_at from upd join projects p on p.id = upd.project_id)
select exists (select 1 from hook) as hooked, job.* from (select 1) one left join job on true`;
nameStatement(CLAIM);

type Row = { hooked: boolean } & ((BuildsTable & { project_name: string; deadline_at: string }) | { [K in keyof BuildsTable]: null });

/** What the statement did: claimed (a job, or none to take), or wrote nothing because a webhook must hear of it. */
export type OrgClaim = { job: ClaimedJob | undefined } | { hooked: true };

export async function claimOrgLane(db: Db, c: Claimant & { orgId: string }): Promise<OrgClaim> {
  const now = nowIso();
  const attemptId = newId('att');
  const leaseExpiresAt = isoAfter(c.leaseTtlMs);
  const [row] = (await db.executeQuery<Row>(CompiledQuery.raw(CLAIM, [c.workerId, c.orgId, c.platforms, JSON.stringify(c.labels), c.concurrency, now, attemptId, leaseExpiresAt]))).rows;
  if (row!.hooked) return { hooked: true };
  if (row!.id === null) return { job: undefined };
  const build = row as BuildsTable & { project_name: string; deadline_at: string };
  const attempt = {
    id: attemptId,
    build_id: build.id,
    org_id: build.org_id,
    number: build.attempt_count,
    worker_id: c.workerId,
    status: 'running',
    started_at: now,
    finished_at: null,
    lease_expires_at: leaseExpiresAt,
    deadline_at: build.deadline_at,
    error_code: null,
    error_message: null,
    error_phase: null,
    last_log_seq: 0,
  };
  return { job: toClaimedJob(build, attempt) };
}
