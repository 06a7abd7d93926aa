import type { Artifact } from '@buildmesh/protocol';
import { toArtifact, type Db } from '../rows.js';

export async function listArtifacts(db: Db, orgId: string, buildId: string): Promise<Artifact[] | undefined> {
  const build = await db.selectFrom('builds').select('id').where('id', '=', buildId).where('org_id', '=', orgId).executeTakeFirst();
  if (!build) return undefined;
  const rows = await db.selectFrom('artifacts').selectAll().where('build_id', '=', buildId).orderBy('attempt_number').orderBy('name').execute();
  return rows.map(toArtifact);
}

export async function getArtifact(db: Db, orgId: string, buildId: string, artifactId: string): Promise<Artifact | undefined> {
  const row = await db
    .selectFrom('artifacts')
    .selectAll()
    .where('id', '=', artifactId)
    .where('build_id', '=', buildId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return row && toArtifact(row);
}
