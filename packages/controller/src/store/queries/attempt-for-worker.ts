import { ApiError, type BuildStatus } from '@buildmesh/protocol';
import { isPostgres, nowIso, type Db } from '../rows.js';
import { prepared } from '../prepared.js';
import type { AttemptRecord } from '../store.js';

function attemptQuery(db: Db, attemptId: string, workerId: string, lock: boolean) {
  const query = db
    .selectFrom('attempts')
    .innerJoin('builds', 'builds.id', 'attempts.build_id')
    .select([
      'attempts.id',
      'attempts.build_id',
      'attempts.org_id',
      'attempts.number',
      'attempts.worker_id',
      'attempts.status',
      'attempts.lease_expires_at',
      'attempts.last_log_seq',
      'builds.status as build_status',
      'builds.cancel_requested',
      'builds.source_sha256',
      'builds.project_id',
    ])
    .where('attempts.id', '=', attemptId)
    .where('attempts.worker_id', '=', workerId);
  // PostgreSQL (READ COMMITTED): lock the attempt and its build for the rest of the transaction, so a
  // finish, a log batch and the sweeper on different replicas take turns instead of deciding on stale reads.
  // SQLite has one writer at a time and no FOR UPDATE.
  return lock && isPostgres(db) ? query.forUpdate() : query;
}

/** Every worker call's attempt check: prepared (prepared.ts), with and without the lock. */
const attemptOf = prepared(2, (db, attemptId: string, workerId: string) => attemptQuery(db, attemptId, workerId, false));
const lockedAttemptOf = prepared(2, (db, attemptId: string, workerId: string) => attemptQuery(db, attemptId, workerId, true));

/** The attempt with the build facts the worker routes check; undefined unless it belongs to this worker. */
export async function getAttemptForWorker(db: Db, workerId: string, attemptId: string, options: { lock?: boolean } = {}): Promise<AttemptRecord | undefined> {
  const [row] = (await (options.lock ? lockedAttemptOf : attemptOf)(db, attemptId, workerId)).rows;
  if (!row) return undefined;
  return {
    id: row.id,
    buildId: row.build_id,
    orgId: row.org_id,
    number: row.number,
    workerId: row.worker_id,
    status: row.status as AttemptRecord['status'],
    leaseExpiresAt: row.lease_expires_at,
    lastLogSeq: row.last_log_seq,
    buildStatus: row.build_status as BuildStatus,
    cancelRequested: row.cancel_requested === 1,
    sourceSha256: row.source_sha256,
    projectId: row.project_id,
  };
}

export const leaseIsLive = (a: AttemptRecord, now = nowIso()): boolean => a.status === 'running' && a.leaseExpiresAt >= now;

/**
 * The gate for everything a worker does through an attempt: someone else's
 * attempt is NOT_FOUND (no existence leak), the caller's ended one is LEASE_LOST.
 */
export async function requireLiveAttempt(db: Db, workerId: string, attemptId: string): Promise<AttemptRecord> {
  const attempt = await getAttemptForWorker(db, workerId, attemptId, { lock: true });
  if (!attempt) throw new ApiError('NOT_FOUND', 'no such attempt');
  if (!leaseIsLive(attempt)) throw new ApiError('LEASE_LOST');
  return attempt;
}
