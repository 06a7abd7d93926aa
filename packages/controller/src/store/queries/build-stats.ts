import type { PhaseSummary } from '@buildmesh/protocol';
import type { Static } from 'typebox';
import { isPostgres, type Db } from '../rows.js';
import { bucketOf, phaseLabel, type BucketRow, type DurationMetric } from '../../stats/histograms.js';

type Phase = Static<typeof PhaseSummary>;

/** Histogram rows per bucket on PostgreSQL (0021: duration_bucket_shards; SQLite has one writer and keeps duration_buckets). */
export const BUCKET_SHARDS = 8;

async function observe(db: Db, metric: DurationMetric, platform: string, label: string, ms: number): Promise<void> {
  const value = Math.max(0, Math.round(ms));
  if (isPostgres(db)) {
    await db
      .insertInto('duration_bucket_shards')
      .values({ metric, platform, label, bucket: bucketOf(value), shard: Math.floor(Math.random() * BUCKET_SHARDS), n: 1, total_ms: value })
      .onConflict((oc) =>
        oc.columns(['metric', 'platform', 'label', 'bucket', 'shard']).doUpdateSet((eb) => ({
          n: eb('duration_bucket_shards.n', '+', 1),
          total_ms: eb('duration_bucket_shards.total_ms', '+', value),
        })),
      )
      .execute();
    return;
  }
  await db
    .insertInto('duration_buckets')
    .values({ metric, platform, label, bucket: bucketOf(value), n: 1, total_ms: value })
    .onConflict((oc) =>
      oc.columns(['metric', 'platform', 'label', 'bucket']).doUpdateSet((eb) => ({
        n: eb('duration_buckets.n', '+', 1),
        total_ms: eb('duration_buckets.total_ms', '+', value),
      })),
    )
    .execute();
}

/**
 * Inside the finish's transaction: the attempt's reported phases, and the histogram observations
 * of a build that ended (queue wait; run time for succeeded and failed).
 */
export async function recordFinish(db: Db, attemptId: string, buildId: string, phases: Phase[], ended: string | null): Promise<void> {
  const b = await db.selectFrom('builds').select(['org_id', 'platform', 'profile_name', 'created_at', 'started_at', 'finished_at']).where('id', '=', buildId).executeTakeFirstOrThrow();
  const now = new Date().toISOString();
  if (phases.length > 0) {
    await db
      .insertInto('attempt_phases')
      .values(
        phases.map((p, seq) => ({
          attempt_id: attemptId,
          seq,
          build_id: buildId,
          org_id: b.org_id,
          platform: b.platform,
          profile: b.profile_name,
          phase: p.name,
          result: p.result,
          duration_ms: Math.max(0, Math.round(p.durationMs)),
          finished_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(['attempt_id', 'seq']).doNothing())
      .execute();
    for (const p of phases) await observe(db, 'phase_duration', b.platform, phaseLabel(p.name), p.durationMs);
  }
  if (ended && b.started_at) {
    await observe(db, 'queue_wait', b.platform, '', Date.parse(b.started_at) - Date.parse(b.created_at));
    if ((ended === 'succeeded' || ended === 'failed') && b.finished_at) await observe(db, 'build_duration', b.platform, '', Date.parse(b.finished_at) - Date.parse(b.started_at));
  }
}

export async function durationBuckets(db: Db): Promise<BucketRow[]> {
  // Both tables (0021), a bucket's shards as rows of the same key: renderHistograms adds them up.
  const rows = await db
    .selectFrom('duration_buckets')
    .select(['metric', 'platform', 'label', 'bucket', 'n', 'total_ms'])
    .unionAll(db.selectFrom('duration_bucket_shards').select(['metric', 'platform', 'label', 'bucket', 'n', 'total_ms']))
    .execute();
  return rows.map((r) => ({ metric: r.metric, platform: r.platform, label: r.label, bucket: r.bucket, n: Number(r.n), totalMs: Number(r.total_ms) }));
}

/** The org's builds that ended since `since` (at most `limit`, newest first), and their phases. */
export async function endedBuilds(db: Db, orgId: string, since: string, limit: number) {
  const builds = await db
    .selectFrom('builds')
    .select(['platform', 'profile_name', 'status', 'created_at', 'started_at', 'finished_at'])
    .where('org_id', '=', orgId)
    .where('finished_at', '>=', since)
    .where('status', 'in', ['succeeded', 'failed', 'canceled', 'timed_out'])
    .orderBy('finished_at', 'desc')
    .limit(limit)
    .execute();
  const phases = await db
    .selectFrom('attempt_phases')
    .select(['platform', 'profile', 'phase', 'duration_ms'])
    .where('org_id', '=', orgId)
    .where('finished_at', '>=', since)
    .orderBy('finished_at', 'desc')
    .limit(limit * 20)
    .execute();
  return { builds, phases };
}
