import { ApiError, DEFAULT_BUILD_TIMEOUT_S, DEFAULT_MAX_ATTEMPTS, type Build } from '@buildmesh/protocol';
import { isPostgres, nowIso, toBuild, type Db } from '../rows.js';
import { preparedInsert } from '../prepared.js';
import type { NewBuild } from '../store.js';
import { buildByIdempotencyKey } from './build-by-idempotency-key.js';
import { isUniqueViolation } from './unique-violation.js';
import { labelKey } from '../label-key.js';
import { ensureLane } from './queue-lanes.js';
import { emitBuildEvent, inTransaction } from './webhook-events.js';
import { NO_LIMITS, queuedAtLeast, type OrgLimits } from './fair-share.js';
import { insertQueuedBuildAlone } from './insert-queued-build-pg.js';
import { LOCK_CLASS, lockForTransaction } from '../advisory-locks.js';

const insertBuildRow = preparedInsert('builds');

/**
 * Enqueues a build. The source blob is already stored; once this commits, the build is acknowledged.
 * A submit whose idempotency key the org has used already returns that first build instead
 * (the caller tells by its id); two racing ones meet in the unique index.
 */
export async function createBuild(db: Db, b: NewBuild, projectName: string, limits: OrgLimits = NO_LIMITS): Promise<Build> {
  const now = nowIso();
  const row = {
    id: b.id,
    org_id: b.orgId,
    project_id: b.projectId,
    platform: b.spec.platform,
    profile_name: b.spec.profile.name,
    profile: JSON.stringify(b.spec.profile),
    env: JSON.stringify(b.spec.env ?? {}),
    labels: JSON.stringify(b.spec.labels ?? {}),
    label_key: labelKey(b.spec.labels ?? {}),
    status: 'queued',
    priority: b.spec.priority ?? 0,
    message: b.spec.message ?? null,
    git_commit: b.spec.gitCommit ?? null,
    source_sha256: b.source.sha256,
    source_size: b.source.size,
    credentials_sealed: b.credentialsSealed,
    max_attempts: b.spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    attempt_count: 0,
    timeout_s: b.spec.timeoutSeconds ?? DEFAULT_BUILD_TIMEOUT_S,
    cancel_requested: 0,
    retry_of: b.retryOf,
    created_at: now,
    queued_at: now,
    started_at: null,
    finished_at: null,
    error_code: null,
    error_message: null,
    error_phase: null,
    expired_at: null,
    idempotency_key: b.idempotencyKey ?? null,
    submitted_by: b.submittedBy ?? null,
    app_dir: b.spec.appDir ?? null,
  };
  const key = b.idempotencyKey;
  // PostgreSQL, no queue limit: one statement, unless a webhook or a used idempotency key needs the path below.
  if (isPostgres(db) && limits.maxQueued === 0) {
    try {
      if (await insertQueuedBuildAlone(db, row)) return toBuild({ ...row, project_name: projectName });
    } catch (err) {
      const first = key && isUniqueViolation(err) ? await buildByIdempotencyKey(db, b.orgId, key) : undefined;
      if (!first) throw err;
      return first;
    }
  }
  if (key) {
    const first = await buildByIdempotencyKey(db, b.orgId, key);
    if (first) return first;
  }
  try {
    await inTransaction(db, async (trx) => {
      if (limits.maxQueued > 0) {
        // Counted and inserted as one step: on PostgreSQL under the org's queue lock (racing submits on any
        // replica wait for each other; the count then sees the earlier one's build), on SQLite the one writer.
        await lockForTransaction(trx, LOCK_CLASS.orgQueue, b.orgId);
        await refuseWhenQueueFull(trx, b.orgId, limits);
      }
      // The lane in the build's transaction: a refused submit leaves none (every shared claim reads them).
      await ensureLane(trx, row.org_id, row.platform, row.label_key, b.spec.labels ?? {});
      await insertBuildRow(trx, row);
      await emitBuildEvent(trx, row.id, 'build.queued');
    });
  } catch (err) {
    const first = key && isUniqueViolation(err) ? await buildByIdempotencyKey(db, b.orgId, key) : undefined;
    if (!first) throw err;
    return first;
  }
  return toBuild({ ...row, project_name: projectName });
}

function refuseWhenQueueFull(db: Db, orgId: string, limits: OrgLimits): Promise<void> {
  return queuedAtLeast(db, orgId, limits.maxQueued).then((n) => {
    if (n >= limits.maxQueued) throw new ApiError('ORG_QUEUE_FULL', `the org already has ${limits.maxQueued} builds queued (BUILDMESH_ORG_MAX_QUEUED); wait for some to start`);
  });
}

/**
 * Before a submit writes anything else (its project, its app build version): ORG_QUEUE_FULL when the org's
 * queue is at BUILDMESH_ORG_MAX_QUEUED, unless the idempotency key names a build already made (a repeat
 * gets that build). A read without the lock: createBuild counts again, exactly, as it inserts.
 */
export async function checkQueueRoom(db: Db, orgId: string, idempotencyKey: string | null, limits: OrgLimits): Promise<void> {
  if (limits.maxQueued === 0) return;
  if (idempotencyKey && (await buildByIdempotencyKey(db, orgId, idempotencyKey))) return;
  await refuseWhenQueueFull(db, orgId, limits);
}
