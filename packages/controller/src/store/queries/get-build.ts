import type { Build, BuildStatus, CreateBuildSpec } from '@buildmesh/protocol';
import { selectBuilds, toAttempt, toBuild, type Db } from '../rows.js';
import type { NewBuild } from '../store.js';

export async function getBuild(
  db: Db,
  orgId: string,
  id: string,
  options: { withAttempts?: boolean; withProfile?: boolean } = {},
): Promise<Build | undefined> {
  const row = await selectBuilds(db).where('builds.id', '=', id).where('builds.org_id', '=', orgId).executeTakeFirst();
  if (!row) return undefined;
  const build = toBuild(row, options);
  if (options.withAttempts) {
    const attempts = await db
      .selectFrom('attempts')
      .leftJoin('workers', 'workers.id', 'attempts.worker_id')
      .selectAll('attempts')
      .select('workers.name as worker_name')
      .where('attempts.build_id', '=', id)
      .orderBy('attempts.number')
      .execute();
    build.attempts = attempts.map(toAttempt);
  }
  return build;
}

/** What a retry needs: the same spec, source and sealed credentials. */
export async function getBuildForRetry(db: Db, orgId: string, id: string): Promise<(NewBuild & { status: BuildStatus }) | undefined> {
  const row = await selectBuilds(db).where('builds.id', '=', id).where('builds.org_id', '=', orgId).executeTakeFirst();
  if (!row) return undefined;
  const spec: CreateBuildSpec = {
    project: row.project_name,
    platform: row.platform as CreateBuildSpec['platform'],
    profile: JSON.parse(row.profile) as CreateBuildSpec['profile'],
    env: JSON.parse(row.env) as Record<string, string>,
    priority: row.priority,
    labels: JSON.parse(row.labels) as Record<string, string>,
    timeoutSeconds: row.timeout_s,
    maxAttempts: row.max_attempts,
    ...(row.message !== null ? { message: row.message } : {}),
    ...(row.git_commit !== null ? { gitCommit: row.git_commit } : {}),
    ...(row.app_dir ? { appDir: row.app_dir } : {}),
  };
  return {
    id: row.id,
    orgId: row.org_id,
    projectId: row.project_id,
    spec,
    source: { sha256: row.source_sha256, size: Number(row.source_size) },
    credentialsSealed: row.credentials_sealed ? Buffer.from(row.credentials_sealed) : null,
    retryOf: row.retry_of,
    status: row.status as BuildStatus,
  };
}
