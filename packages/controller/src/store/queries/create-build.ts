import { DEFAULT_BUILD_TIMEOUT_S, DEFAULT_MAX_ATTEMPTS, type Build } from '@buildmesh/protocol';
import { nowIso, toBuild, type Db } from '../rows.js';
import type { NewBuild } from '../store.js';

/** Enqueues a build. The source blob is already stored; once this commits, the build is acknowledged. */
export async function createBuild(db: Db, b: NewBuild, projectName: string): Promise<Build> {
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
  };
  await db.insertInto('builds').values(row).execute();
  return toBuild({ ...row, project_name: projectName });
}
