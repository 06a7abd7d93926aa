import type { Kysely } from 'kysely';
import { nowIso, type Db } from '../rows.js';
import type { Database } from '../schema.js';

/**
 * Retention: builds that ended before the cutoff lose their logs, artifacts and sealed credentials
 * (the build row stays, marked expired, so history and audit remain). Returns the
 * blobs nothing references any more; the caller deletes them after re-checking.
 */
export async function expire(db: Kysely<Database>, cutoff: Date, limit: number): Promise<{ builds: number; unreferencedBlobs: string[] }> {
  const builds = await db
    .selectFrom('builds')
    .select(['id', 'source_sha256'])
    .where('finished_at', '<', cutoff.toISOString())
    .where('expired_at', 'is', null)
    .limit(limit)
    .execute();
  if (builds.length === 0) return { builds: 0, unreferencedBlobs: [] };
  const ids = builds.map((b) => b.id);
  const candidates = new Set(builds.map((b) => b.source_sha256));
  await db.transaction().execute(async (trx) => {
    for (const a of await trx.selectFrom('artifacts').select('sha256').where('build_id', 'in', ids).execute()) candidates.add(a.sha256);
    await trx.deleteFrom('artifacts').where('build_id', 'in', ids).execute();
    await trx.deleteFrom('log_batches').where('build_id', 'in', ids).execute();
    // The signing credentials sealed into each build go with its logs and artifacts (a retry of it could not run anyway: its source expires too).
    await trx.updateTable('builds').set({ expired_at: nowIso(), credentials_sealed: null }).where('id', 'in', ids).execute();
  });
  const unreferenced: string[] = [];
  for (const sha of candidates) if (!(await blobReferenced(db, sha))) unreferenced.push(sha);
  return { builds: ids.length, unreferencedBlobs: unreferenced };
}

/** A blob is live while an unexpired build uses it as source or any artifact points at it. */
export async function blobReferenced(db: Db, sha256: string): Promise<boolean> {
  const build = await db.selectFrom('builds').select('id').where('source_sha256', '=', sha256).where('expired_at', 'is', null).limit(1).executeTakeFirst();
  if (build) return true;
  const artifact = await db.selectFrom('artifacts').select('id').where('sha256', '=', sha256).limit(1).executeTakeFirst();
  return artifact !== undefined;
}
