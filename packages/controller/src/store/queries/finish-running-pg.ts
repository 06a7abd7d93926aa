/**
 * PostgreSQL's finish in one statement, outside any explicit transaction, for the common case: the
 * worker's own attempt with a live lease reports succeeded, failed or timed out for its running
 * build, and no webhook hears of that result. The attempt and build rows are locked (FOR UPDATE,
 * as the transactional path locks them, so a log batch, a heartbeat or the sweeper on another
 * replica takes turns with it), then the attempt and the build are ended, the reported phases
 * stored, and the histograms counted (build-stats.ts' buckets, in a shard picked at random: duration_bucket_shards, 0021).
 * Every row lock, including the histogram rows finishes share, is released when PostgreSQL commits the statement,
 * without waiting for a round trip to Node: with a transaction around it, those hot rows were held
 * across the controller's event loop and finishes queued behind one another (docs/performance.md).
 * Anything else (no such attempt, a lost lease, a canceled or timed-out build, a handed-back
 * build, a subscribed webhook) writes nothing and the caller runs the transactional path.
 * Named statement (pg-statements.ts).
 */
import type { PhaseSummary } from '@buildmesh/protocol';
import type { Static } from 'typebox';
import { CompiledQuery } from 'kysely';
import type { Db } from '../rows.js';
import { nameStatement } from '../pg-statements.js';
import { bucketOf, DURATION_BUCKETS_S, phaseLabel } from '../../stats/histograms.js';
import { BUCKET_SHARDS } from './build-stats.js';

// bucketOf(ms) (histograms.ts) in SQL: the number of bounds below ms.
const bucket = (ms: string) => `(select count(*) from unnest($9::integer[]) s where ${ms} > s * 1000)`;
const upsert = `on conflict (metric, platform, label, bucket, shard) do update set n = duration_bucket_shards.n + excluded.n, total_ms = duration_bucket_shards.total_ms + excluded.total_ms`;

// $1 attempt, $2 worker, $3 outcome, $4 now, $5-$7 error code, message, phase, $8 webhook event pattern, $9 bucket bounds (s),
// $10-$14 the phases: name, result, duration ms, histogram label, histogram bucket; $15 the histogram rows' shard (0021).
const FINISH = `with a as (select a.id, a.build_id, b.org_id, b.project_id, a.status, a.lease_expires_at, b.status as build_status
    from attempts a join builds b on b.id = a.build_id where a.id = $1 and a.worker_id = $2 for update),
hook as (select 1 from webhooks w join a on w.org_id = a.org_id where (w.project_id is null or w.project_id = a.project_id) and w.events like $8 limit 1),
ok as (select id, build_id from a where status = 'running' and lease_expires_at >= $4 and build_status = 'running' and not exists (select 1 from hook)),
ea as (update attempts set status = $3, finished_at = $4, error_code = $5, error_message = $6, error_phase = $7 where id = (select id from ok)),
eb as (update builds set status = $3, finished_at = $4, error_code = $5, error_message = $6, error_phase = $7
    where id = (select build_id from ok) and status = 'running'
    returning id, org_id, platform, profile_name, started_at,
      greatest(0, round(extract(epoch from (started_at::timestamptz - created_at::timestamptz)) * 1000))::bigint as wait_ms,
      greatest(0, round(extract(epoch from (finished_at::timestamptz - started_at::timestamptz)) * 1000))::bigint as run_ms),
phases as (select * from unnest($10::text[], $11::text[], $12::integer[], $13::text[], $14::integer[]) with ordinality as p(phase, result, ms, label, bucket, seq)),
ph as (insert into attempt_phases (attempt_id, seq, build_id, org_id, platform, profile, phase, result, duration_ms, finished_at)
    select $1, p.seq - 1, eb.id, eb.org_id, eb.platform, eb.profile_name, p.phase, p.result, p.ms, $4 from eb, phases p
    on conflict (attempt_id, seq) do nothing),
pd as (insert into duration_bucket_shards (metric, platform, label, bucket, shard, n, total_ms)
    -- one row per (label, bucket), in one order for every finish: two finishes never wait on each other's rows crosswise
    select 'phase_duration', eb.platform, p.label, p.bucket, $15::integer, count(*), sum(p.ms) from eb, phases p
    group by eb.platform, p.label, p.bucket order by p.label, p.bucket ${upsert}),
qw as (insert into duration_bucket_shards (metric, platform, label, bucket, shard, n, total_ms)
    select 'queue_wait', platform, '', ${bucket('wait_ms')}, $15::integer, 1, wait_ms from eb where started_at is not null ${upsert}),
bd as (insert into duration_bucket_shards (metric, platform, label, bucket, shard, n, total_ms)
    select 'build_duration', platform, '', ${bucket('run_ms')}, $15::integer, 1, run_ms from eb where started_at is not null and $3 in ('succeeded', 'failed') ${upsert})
select eb.id as build_id from eb`;
nameStatement(FINISH);

/**
 * Ends the attempt and its running build with the worker's result in one statement; the build's id
 * if it did, undefined if nothing was written (the caller's transactional path decides then).
 */
export async function finishRunningBuild(
  db: Db,
  workerId: string,
  attemptId: string,
  outcome: 'succeeded' | 'failed' | 'timed_out',
  err: { code: string; message: string; phase?: string } | null,
  phases: Static<typeof PhaseSummary>[],
): Promise<string | undefined> {
  const ms = phases.map((p) => Math.max(0, Math.round(p.durationMs)));
  const params = [
    attemptId,
    workerId,
    outcome,
    new Date().toISOString(),
    err?.code ?? null,
    err?.message ?? null,
    err?.phase ?? null,
    `%"build.${outcome}"%`,
    [...DURATION_BUCKETS_S],
    phases.map((p) => p.name),
    phases.map((p) => p.result),
    ms,
    phases.map((p) => phaseLabel(p.name)),
    ms.map(bucketOf),
    Math.floor(Math.random() * BUCKET_SHARDS),
  ];
  const [row] = (await db.executeQuery<{ build_id: string }>(CompiledQuery.raw(FINISH, params))).rows;
  return row?.build_id;
}
