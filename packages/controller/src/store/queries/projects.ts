import { ApiError, type Project } from '@buildmesh/protocol';
import { nowIso, toProject, type Db } from '../rows.js';
import { isUniqueViolation } from './unique-violation.js';

export async function createProject(db: Db, orgId: string, id: string, name: string): Promise<Project> {
  const row = { id, org_id: orgId, name, created_at: nowIso() };
  try {
    await db.insertInto('projects').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError('NAME_TAKEN', `a project named "${name}" already exists`);
    throw err;
  }
  return toProject(row);
}

/** Builds name their project; the first build of a name creates it (as EAS does for a new slug). */
export async function ensureProject(db: Db, orgId: string, id: string, name: string): Promise<Project> {
  const existing = await getProjectByName(db, orgId, name);
  if (existing) return existing;
  await db
    .insertInto('projects')
    .values({ id, org_id: orgId, name, created_at: nowIso() })
    .onConflict((oc) => oc.columns(['org_id', 'name']).doNothing())
    .execute();
  return (await getProjectByName(db, orgId, name))!;
}

export async function getProjectByName(db: Db, orgId: string, name: string): Promise<Project | undefined> {
  const row = await db.selectFrom('projects').selectAll().where('org_id', '=', orgId).where('name', '=', name).executeTakeFirst();
  return row && toProject(row);
}

export async function listProjects(db: Db, orgId: string): Promise<Project[]> {
  return (await db.selectFrom('projects').selectAll().where('org_id', '=', orgId).orderBy('name').execute()).map(toProject);
}
