import type { Role, TokenInfo } from '@buildmesh/protocol';
import { nowIso, toToken, toTokenRecord, type Db } from '../rows.js';
import { prepared } from '../prepared.js';
import type { TokenRecord } from '../store.js';

export async function insertToken(
  db: Db,
  t: { id: string; orgId: string; name: string; role: Role; instanceAdmin: boolean; secretHash: Buffer; expiresAt?: string; project?: string | null },
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
    expires_at: t.expiresAt ?? null,
    project: t.project ?? null,
  };
  await db.insertInto('tokens').values(row).execute();
  return toToken(row);
}

/** Every API request's token lookup: prepared (prepared.ts). */
const tokenById = prepared(1, (db, id: string) => db.selectFrom('tokens').selectAll().where('id', '=', id));

export async function findToken(db: Db, id: string): Promise<TokenRecord | undefined> {
  const [row] = (await tokenById(db, id)).rows;
  return row && toTokenRecord(row);
}

export async function touchToken(db: Db, id: string): Promise<void> {
  await db.updateTable('tokens').set({ last_used_at: nowIso() }).where('id', '=', id).execute();
}

/** The instance admin stands outside every org: its tokens are listed and revoked only by the instance admin. */
export async function listTokens(db: Db, orgId: string, includeInstanceAdmin: boolean): Promise<TokenInfo[]> {
  // Exchanged CI tokens are listed while they live; expired ones are history (the audit log keeps it).
  let query = db
    .selectFrom('tokens')
    .selectAll()
    .where('org_id', '=', orgId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowIso())]));
  if (!includeInstanceAdmin) query = query.where('instance_admin', '=', 0);
  return (await query.orderBy('id').execute()).map(toToken);
}

export async function revokeToken(db: Db, orgId: string, id: string, includeInstanceAdmin: boolean): Promise<TokenInfo | undefined> {
  const scope = includeInstanceAdmin ? [0, 1] : [0];
  await db
    .updateTable('tokens')
    .set({ revoked_at: nowIso() })
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('instance_admin', 'in', scope)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await db.selectFrom('tokens').selectAll().where('id', '=', id).where('org_id', '=', orgId).where('instance_admin', 'in', scope).executeTakeFirst();
  return row && toToken(row);
}

/** Inserts a new instance admin token and revokes every other live one; run inside a transaction. */
export async function replaceInstanceAdminToken(
  db: Db,
  t: { id: string; orgId: string; name: string; secretHash: Buffer },
): Promise<{ token: TokenInfo; revoked: string[] }> {
  const previous = await db.selectFrom('tokens').select('id').where('instance_admin', '=', 1).where('revoked_at', 'is', null).execute();
  const revoked = previous.map((r) => r.id).filter((id) => id !== t.id);
  if (revoked.length > 0) await db.updateTable('tokens').set({ revoked_at: nowIso() }).where('id', 'in', revoked).execute();
  const token = await insertToken(db, { ...t, role: 'admin', instanceAdmin: true });
  return { token, revoked };
}

export async function countInstanceAdminTokens(db: Db): Promise<number> {
  const row = await db
    .selectFrom('tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_admin', '=', 1)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
