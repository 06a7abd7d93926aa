import type { Db } from '../rows.js';
import { nowIso } from '../rows.js';
import type { SessionRecord } from '../store.js';

/** A sign-in; sessions that expired meanwhile are removed by the same call (the table holds live ones and few others). */
export async function insertSession(db: Db, s: { id: string; tokenId: string; secretHash: Buffer; expiresAt: string }): Promise<void> {
  await db.deleteFrom('dashboard_sessions').where('expires_at', '<', nowIso()).execute();
  await db
    .insertInto('dashboard_sessions')
    .values({ id: s.id, token_id: s.tokenId, secret_hash: s.secretHash, created_at: nowIso(), expires_at: s.expiresAt, revoked_at: null })
    .execute();
}

export async function findSession(db: Db, id: string): Promise<SessionRecord | undefined> {
  const row = await db.selectFrom('dashboard_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  return (
    row && {
      id: row.id,
      tokenId: row.token_id,
      secretHash: Buffer.from(row.secret_hash),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
    }
  );
}

/** Sign-out; expired sessions are removed by the same call to keep the table small. */
export async function revokeSession(db: Db, id: string): Promise<void> {
  const now = nowIso();
  await db.updateTable('dashboard_sessions').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  await db.deleteFrom('dashboard_sessions').where('expires_at', '<', now).execute();
}
