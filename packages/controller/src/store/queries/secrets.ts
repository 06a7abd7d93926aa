import type { SecretInfo } from '@buildmesh/protocol';
import { nowIso, type Db } from '../rows.js';

export async function putSecret(db: Db, orgId: string, projectId: string, name: string, sealed: Buffer): Promise<SecretInfo> {
  const updatedAt = nowIso();
  await db
    .insertInto('secrets')
    .values({ project_id: projectId, name, org_id: orgId, sealed, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(['project_id', 'name']).doUpdateSet({ sealed, updated_at: updatedAt }))
    .execute();
  return { name, updatedAt };
}

export async function deleteSecret(db: Db, orgId: string, projectId: string, name: string): Promise<boolean> {
  const result = await db.deleteFrom('secrets').where('org_id', '=', orgId).where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listSecrets(db: Db, orgId: string, projectId: string): Promise<SecretInfo[]> {
  const rows = await db.selectFrom('secrets').select(['name', 'updated_at']).where('org_id', '=', orgId).where('project_id', '=', projectId).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, updatedAt: r.updated_at }));
}

export async function getSealedSecrets(db: Db, orgId: string, projectId: string): Promise<Array<{ name: string; sealed: Buffer }>> {
  const rows = await db.selectFrom('secrets').select(['name', 'sealed']).where('org_id', '=', orgId).where('project_id', '=', projectId).execute();
  return rows.map((r) => ({ name: r.name, sealed: Buffer.from(r.sealed) }));
}
