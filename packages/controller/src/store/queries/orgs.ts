import { ApiError, type Org } from '@buildmesh/protocol';
import { nowIso, toOrg, type Db } from '../rows.js';
import { isUniqueViolation } from './unique-violation.js';

export async function createOrg(db: Db, org: { id: string; name: string }): Promise<Org> {
  const row = { id: org.id, name: org.name, created_at: nowIso() };
  try {
    await db.insertInto('orgs').values(row).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError('NAME_TAKEN', `an org named "${org.name}" already exists`);
    throw err;
  }
  return toOrg(row);
}

export async function getOrg(db: Db, id: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toOrg(row);
}

export async function getOrgByName(db: Db, name: string): Promise<Org | undefined> {
  const row = await db.selectFrom('orgs').selectAll().where('name', '=', name).executeTakeFirst();
  return row && toOrg(row);
}

export async function listOrgs(db: Db): Promise<Org[]> {
  return (await db.selectFrom('orgs').selectAll().orderBy('id').execute()).map(toOrg);
}
