/** Row → wire shape, in one place so every query answers the same shapes. */
import {
  BuildErrors,
  isBuildErrorCode,
  type Artifact,
  type ArtifactKind,
  type Attempt,
  type Build,
  type BuildError,
  type BuildStatus,
  type EnrollmentTokenInfo,
  type Org,
  type Platform,
  type Project,
  type ResolvedProfile,
  type Role,
  type TokenInfo,
  type WorkerPool,
} from '@buildmesh/protocol';
import { PostgresAdapter, type Kysely, type Transaction } from 'kysely';
import type {
  ArtifactsTable,
  AttemptsTable,
  BuildsTable,
  Database,
  EnrollmentTokensTable,
  OrgsTable,
  ProjectsTable,
  TokensTable,
  WorkersTable,
} from './schema.js';
import type { ClaimedJob, TokenRecord, EnrollmentTokenRecord, WorkerRecord } from './store.js';

export type Db = Kysely<Database> | Transaction<Database>;

/** Which engine runs this query (row locks and a few statements differ). */
export const isPostgres = (db: Db): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export const nowIso = (): string => new Date().toISOString();
export const isoAfter = (ms: number, from = Date.now()): string => new Date(from + ms).toISOString();

export function toOrg(r: OrgsTable): Org {
  return { id: r.id, name: r.name, createdAt: r.created_at };
}

export function toToken(r: TokensTable): TokenInfo {
  return {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    role: r.role as Role,
    instanceAdmin: r.instance_admin === 1,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}
export const toTokenRecord = (r: TokensTable): TokenRecord => ({
  ...toToken(r),
  secretHash: Buffer.from(r.secret_hash),
  expiresAt: r.expires_at ?? null,
  project: r.project ?? null,
});

export function toEnrollmentToken(r: EnrollmentTokensTable): EnrollmentTokenInfo {
  return { id: r.id, orgId: r.org_id, name: r.name, pool: r.pool as WorkerPool, createdAt: r.created_at, revokedAt: r.revoked_at };
}
export const toEnrollmentTokenRecord = (r: EnrollmentTokensTable): EnrollmentTokenRecord => ({
  ...toEnrollmentToken(r),
  secretHash: Buffer.from(r.secret_hash),
});

export function toProject(r: ProjectsTable): Project {
  return { id: r.id, name: r.name, createdAt: r.created_at };
}

export function toWorkerRecord(r: WorkersTable): WorkerRecord {
  return {
    id: r.id,
    orgId: r.org_id,
    pool: r.pool as WorkerPool,
    name: r.name,
    platforms: JSON.parse(r.platforms) as Platform[],
    labels: JSON.parse(r.labels) as Record<string, string>,
    concurrency: r.concurrency,
    version: r.version,
    toolchains: JSON.parse(r.toolchains) as Record<string, string>,
    secretHash: Buffer.from(r.secret_hash),
    lastSeenAt: r.last_seen_at,
    revokedAt: r.revoked_at,
    executor: r.executor === 'bwrap' ? 'bwrap' : 'none',
    enrollmentTokenId: r.enrollment_token_id,
  };
}

export function toBuildError(code: string | null, message: string | null, phase: string | null): BuildError | null {
  if (!code) return null;
  return {
    code,
    message: message ?? '',
    ...(isBuildErrorCode(code) ? { explanation: BuildErrors[code] } : {}),
    ...(phase ? { phase } : {}),
  };
}

export type BuildRow = BuildsTable & { project_name: string };

export function toBuild(r: BuildRow, options: { withProfile?: boolean } = {}): Build {
  return {
    id: r.id,
    project: r.project_name,
    platform: r.platform as Platform,
    profileName: r.profile_name,
    status: r.status as BuildStatus,
    priority: r.priority,
    message: r.message,
    gitCommit: r.git_commit,
    labels: JSON.parse(r.labels) as Record<string, string>,
    source: { sha256: r.source_sha256, size: Number(r.source_size) },
    hasCredentials: r.credentials_sealed !== null,
    attemptCount: r.attempt_count,
    maxAttempts: r.max_attempts,
    timeoutSeconds: r.timeout_s,
    cancelRequested: r.cancel_requested === 1,
    retryOf: r.retry_of,
    submittedBy: r.submitted_by ?? null,
    ...(r.app_dir ? { appDir: r.app_dir } : {}),
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: toBuildError(r.error_code, r.error_message, r.error_phase),
    ...(options.withProfile ? { profile: JSON.parse(r.profile) as ResolvedProfile } : {}),
  };
}

export function toAttempt(r: AttemptsTable & { worker_name: string | null }): Attempt {
  return {
    id: r.id,
    number: r.number,
    workerId: r.worker_id,
    workerName: r.worker_name ?? r.worker_id,
    status: r.status as Attempt['status'],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    leaseExpiresAt: r.lease_expires_at,
    error: toBuildError(r.error_code, r.error_message, r.error_phase),
  };
}

/** A claim's answer: the claimed build as the worker needs it (profile, env, when it was queued) and its new attempt. */
export function toClaimedJob(claimed: BuildRow, attempt: AttemptsTable): ClaimedJob {
  return {
    build: {
      ...toBuild(claimed, { withProfile: true }),
      profile: JSON.parse(claimed.profile) as ResolvedProfile,
      env: JSON.parse(claimed.env) as Record<string, string>,
      queuedAt: claimed.queued_at,
      orgId: claimed.org_id,
    } as ClaimedJob['build'],
    attempt: toAttempt({ ...attempt, worker_name: null }),
  };
}

export function toArtifact(r: ArtifactsTable): Artifact {
  return {
    id: r.id,
    buildId: r.build_id,
    attemptNumber: r.attempt_number,
    name: r.name,
    kind: r.kind as ArtifactKind,
    size: Number(r.size),
    sha256: r.sha256,
    createdAt: r.created_at,
    ...(r.app_bundle_id && r.app_version && r.app_build && r.app_title
      ? { app: { bundleId: r.app_bundle_id, version: r.app_version, build: r.app_build, title: r.app_title } }
      : {}),
  };
}

/** Builds joined with their project's name: the shape every build read starts from. */
export function selectBuilds(db: Db) {
  return db.selectFrom('builds').innerJoin('projects', 'projects.id', 'builds.project_id').selectAll('builds').select('projects.name as project_name');
}

/** Do a worker's labels satisfy a build's required labels? */
export function labelsMatch(required: Record<string, string>, offered: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(required)) if (offered[k] !== v) return false;
  return true;
}
