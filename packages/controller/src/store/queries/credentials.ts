import type { Platform } from '@buildmesh/protocol';
import { nowIso, type Db } from '../rows.js';

/** Sealed (AES-GCM) bytes per platform; the summary holds only non-secret facts (alias, target names). */
export async function putProjectCredentials(
  db: Db,
  orgId: string,
  projectId: string,
  platform: 'android' | 'ios',
  sealed: Buffer,
  summary: unknown,
): Promise<void> {
  const values = { project_id: projectId, platform, org_id: orgId, sealed, summary: JSON.stringify(summary), updated_at: nowIso() };
  await db
    .insertInto('project_credentials')
    .values(values)
    .onConflict((oc) => oc.columns(['project_id', 'platform']).doUpdateSet({ sealed, summary: values.summary, updated_at: values.updated_at }))
    .execute();
}

export async function deleteProjectCredentials(db: Db, orgId: string, projectId: string, platform: Platform): Promise<void> {
  await db.deleteFrom('project_credentials').where('org_id', '=', orgId).where('project_id', '=', projectId).where('platform', '=', platform).execute();
}

export async function getProjectCredentials(db: Db, orgId: string, projectId: string) {
  const rows = await db.selectFrom('project_credentials').selectAll().where('org_id', '=', orgId).where('project_id', '=', projectId).execute();
  return rows.map((r) => ({ platform: r.platform, sealed: Buffer.from(r.sealed), summary: JSON.parse(r.summary) as unknown, updatedAt: r.updated_at }));
}
