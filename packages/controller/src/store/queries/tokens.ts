import type { Role, TokenInfo } from '@buildmesh/protocol';
import { nowIso, toToken, toTokenRecord, type Db } from '../rows.js';
import type { TokenRecord } from '../store.js';

export async function insertToken(
  db: Db,
  t: { id: string; orgId: string; name: string; role: Role; instanceAdmin: boolean; secretHash: Buffer },
): Promise<TokenInfo> {
  const row = {
    id: t.id,
    org_id: t.orgId,
    name: t.name,
    role: t.role,
    instance_admin: t.instanceAdmin ? 1 : 0,
    secret_hash: t.secretHash,
    created_at: nowIso(),
    last_used_at: null,
    revoked_at: null,
  };
  await db.insertInto('tokens').values(row).execute();
  return toToken(row);
}

export async function findToken(db: Db, id: string): Promise<TokenRecord | undefined> {
  const row = await db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toTokenRecord(row);
}

export async function touchToken(db: Db, id: string): Promise<void> {
  await db.updateTable('tokens').set({ last_used_at: nowIso() }).where('id', '=', id).execute();
}

export async function listTokens(db: Db, orgId: string): Promise<TokenInfo[]> {
  return (await db.selectFrom('tokens').selectAll().where('org_id', '=', orgId).orderBy('id').execute()).map(toToken);
}

export async function revokeToken(db: Db, orgId: string, id: string): Promise<TokenInfo | undefined> {
  await db.updateTable('tokens').set({ revoked_at: nowIso() }).where('id', '=', id).where('org_id', '=', orgId).where('revoked_at', 'is', null).execute();
  const row = await db.selectFrom('tokens').selectAll().where('id', '=', id).where('org_id', '=', orgId).executeTakeFirst();
  return row && toToken(row);
}

export async function countInstanceAdminTokens(db: Db): Promise<number> {
  const row = await db
    .selectFrom('tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_admin', '=', 1)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
