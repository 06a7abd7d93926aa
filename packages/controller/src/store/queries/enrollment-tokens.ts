import type { EnrollmentTokenInfo, WorkerPool } from '@buildmesh/protocol';
import { nowIso, toEnrollmentToken, toEnrollmentTokenRecord, type Db } from '../rows.js';
import type { EnrollmentTokenRecord } from '../store.js';

export async function insertEnrollmentToken(
  db: Db,
  t: { id: string; orgId: string | null; name: string; pool: WorkerPool; secretHash: Buffer },
): Promise<EnrollmentTokenInfo> {
  const row = { id: t.id, org_id: t.orgId, name: t.name, pool: t.pool, secret_hash: t.secretHash, created_at: nowIso(), revoked_at: null };
  await db.insertInto('enrollment_tokens').values(row).execute();
  return toEnrollmentToken(row);
}

export async function findEnrollmentToken(db: Db, id: string): Promise<EnrollmentTokenRecord | undefined> {
  const row = await db.selectFrom('enrollment_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toEnrollmentTokenRecord(row);
}

/** The org's own tokens; the instance admin also sees (and may revoke) the shared pool's. */
function visible(db: Db, orgId: string, includeShared: boolean) {
  return db
    .selectFrom('enrollment_tokens')
    .selectAll()
    .where((eb) => (includeShared ? eb.or([eb('org_id', '=', orgId), eb('pool', '=', 'shared')]) : eb('org_id', '=', orgId)));
}

export async function listEnrollmentTokens(db: Db, orgId: string, includeShared: boolean): Promise<EnrollmentTokenInfo[]> {
  return (await visible(db, orgId, includeShared).orderBy('id').execute()).map(toEnrollmentToken);
}

export async function revokeEnrollmentToken(db: Db, orgId: string, id: string, includeShared: boolean): Promise<EnrollmentTokenInfo | undefined> {
  const row = await visible(db, orgId, includeShared).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  if (!row.revoked_at) {
    row.revoked_at = nowIso();
    await db.updateTable('enrollment_tokens').set({ revoked_at: row.revoked_at }).where('id', '=', id).execute();
  }
  return toEnrollmentToken(row);
}
