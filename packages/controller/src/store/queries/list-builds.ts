import { ApiError, type Build, type ListBuildsQuery } from '@buildmesh/protocol';
import { selectBuilds, toBuild, type Db } from '../rows.js';

const CURSOR = /^bld_[0-9a-z]{26}$/;

/** Newest first; the cursor is the last id of the previous page (ids sort by creation time). Each filter has its index (migration 0003). */
export async function listBuilds(db: Db, orgId: string, q: ListBuildsQuery): Promise<{ builds: Build[]; nextCursor: string | null }> {
  const limit = q.limit ?? 50;
  let after: string | undefined;
  if (q.cursor !== undefined) {
    after = Buffer.from(q.cursor, 'base64url').toString('utf8');
    if (!CURSOR.test(after)) throw new ApiError('INVALID_CURSOR');
  }
  let query = selectBuilds(db).where('builds.org_id', '=', orgId);
  if (q.status) query = query.where('builds.status', '=', q.status);
  if (q.platform) query = query.where('builds.platform', '=', q.platform);
  if (q.profile) query = query.where('builds.profile_name', '=', q.profile);
  // The project's id first (one unique-index lookup), so the builds_project index serves the filter.
  const project = q.project;
  if (project !== undefined) {
    query = query.where('builds.project_id', '=', (eb) =>
      eb.selectFrom('projects').select('projects.id').where('projects.org_id', '=', orgId).where('projects.name', '=', project),
    );
  }
  if (after) query = query.where('builds.id', '<', after);
  const rows = await query.orderBy('builds.id', 'desc').limit(limit + 1).execute();
  const page = rows.slice(0, limit).map((r) => toBuild(r));
  const last = page.at(-1);
  return { builds: page, nextCursor: rows.length > limit && last ? Buffer.from(last.id).toString('base64url') : null };
}
