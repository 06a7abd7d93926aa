import type { AuditEntry } from '@buildmesh/protocol';
import type { Kysely } from 'kysely';
import type { Db } from '../rows.js';
import type { Database } from '../schema.js';
import type { AuditLogTable } from '../schema.js';
import { idAtTime } from '../../ids.js';
import { LOCK_CLASS, lockForTransaction } from '../advisory-locks.js';

const toEntry = (r: AuditLogTable): AuditEntry => ({
  id: r.id,
  orgId: r.org_id,
  actorKind: r.actor_kind,
  actorId: r.actor_id,
  actorName: r.actor_name,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  details: JSON.parse(r.details) as Record<string, unknown>,
  ip: r.ip,
  createdAt: r.created_at,
});

export async function appendAudit(db: Db, e: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      id: e.id,
      org_id: e.orgId,
      actor_kind: e.actorKind,
      actor_id: e.actorId,
      actor_name: e.actorName,
      action: e.action,
      target_type: e.targetType,
      target_id: e.targetId,
      details: JSON.stringify(e.details),
      ip: e.ip,
      created_at: e.createdAt,
    })
    .execute();
}

/**
 * How many `action` entries the org has had since `since` (ms), of one actor when `actorId` is given,
 * counting no further than `cap`: a range of the (org_id, id) index from the first id of that millisecond
 * (ids sort by creation time, ids.ts).
 */
async function recentAuditCount(db: Db, orgId: string, action: string, since: number, cap: number, actorId?: string): Promise<number> {
  const r = await db
    .selectFrom((eb) => {
      let recent = eb.selectFrom('audit_log').select('id').where('org_id', '=', orgId).where('id', '>=', idAtTime('aud', since)).where('action', '=', action);
      if (actorId !== undefined) recent = recent.where('actor_id', '=', actorId);
      return recent.limit(cap).as('recent');
    })
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** At most `perActor` entries of one actor and `perOrg` of the org, of one action, since a time. */
export interface AuditCap {
  since: number;
  perActor: number;
  perOrg: number;
}

/**
 * Appends the entry unless its actor already has `perActor` entries of its action since `since` (ms), or
 * the org `perOrg`: one noisy actor cannot crowd out the others' entries, and no number of actors can
 * flood the log. Answers whether it was written. The counts and the write are one step: on PostgreSQL,
 * under a transaction-scoped advisory lock of the org and action (any replica); on SQLite the one writer.
 */
export async function appendAuditCapped(db: Kysely<Database>, e: AuditEntry & { orgId: string }, cap: AuditCap): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await lockForTransaction(trx, LOCK_CLASS.cappedAudit, `${e.orgId} ${e.action}`);
    if ((await recentAuditCount(trx, e.orgId, e.action, cap.since, cap.perActor, e.actorId)) >= cap.perActor) return false;
    if ((await recentAuditCount(trx, e.orgId, e.action, cap.since, cap.perOrg)) >= cap.perOrg) return false;
    await appendAudit(trx, e);
    return true;
  });
}

/** Oldest first from `since` / after `cursor`; `orgId` null = every org (the instance admin). */
export async function listAudit(db: Db, orgId: string | null, q: { since?: string; cursor?: string; limit: number }): Promise<{ entries: AuditEntry[]; nextCursor: string | null }> {
  let query = db.selectFrom('audit_log').selectAll();
  if (orgId !== null) query = query.where('org_id', '=', orgId);
  if (q.since) query = query.where('created_at', '>=', q.since);
  if (q.cursor) query = query.where('id', '>', q.cursor);
  const rows = await query.orderBy('id').limit(q.limit).execute();
  return { entries: rows.map(toEntry), nextCursor: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
}
