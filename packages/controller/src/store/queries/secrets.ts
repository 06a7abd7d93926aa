import type { SecretInfo } from '@buildmesh/protocol';
import { nowIso, type Db } from '../rows.js';

/** The `environment` column of an unscoped secret (a key column, so '' rather than NULL). */
const ALL_ENVIRONMENTS = '';

export async function putSecret(db: Db, orgId: string, projectId: string, name: string, sealed: Buffer, environment?: string): Promise<SecretInfo> {
  const updatedAt = nowIso();
  const env = environment ?? ALL_ENVIRONMENTS;
  await db
    .insertInto('secrets')
    .values({ project_id: projectId, name, environment: env, org_id: orgId, sealed, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(['project_id', 'name', 'environment']).doUpdateSet({ sealed, updated_at: updatedAt }))
    .execute();
  return { name, updatedAt, ...(env ? { environment: env } : {}) };
}

export async function deleteSecret(db: Db, orgId: string, projectId: string, name: string, environment?: string): Promise<boolean> {
  const result = await db
    .deleteFrom('secrets')
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('name', '=', name)
    .where('environment', '=', environment ?? ALL_ENVIRONMENTS)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listSecrets(db: Db, orgId: string, projectId: string): Promise<SecretInfo[]> {
  const rows = await db
    .selectFrom('secrets')
    .select(['name', 'environment', 'updated_at'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .orderBy('name')
    .orderBy('environment')
    .execute();
  return rows.map((r) => ({ name: r.name, updatedAt: r.updated_at, ...(r.environment ? { environment: r.environment } : {}) }));
}

/** A build's secrets: the unscoped ones and those scoped to its environment, which win a shared name. */
export async function getSealedSecrets(db: Db, orgId: string, projectId: string, environment?: string): Promise<Array<{ name: string; sealed: Buffer }>> {
  const environments = environment ? [ALL_ENVIRONMENTS, environment] : [ALL_ENVIRONMENTS];
  const rows = await db
    .selectFrom('secrets')
    .select(['name', 'environment', 'sealed'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('environment', 'in', environments)
    .execute();
  const byName = new Map<string, Buffer>();
  for (const r of rows) {
    if (r.environment === ALL_ENVIRONMENTS && byName.has(r.name)) continue;
    byName.set(r.name, Buffer.from(r.sealed));
  }
  return [...byName].map(([name, sealed]) => ({ name, sealed }));
}
