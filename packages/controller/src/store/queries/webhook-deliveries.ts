import { ApiError, MAX_ENDED_DELIVERIES_KEPT, MAX_PENDING_FOR_MANUAL_DELIVERY, type WebhookDelivery } from '@buildmesh/protocol';
import { isoAfter, isPostgres, nowIso, type Db } from '../rows.js';
import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable } from '../schema.js';
import { inTransaction, insertDeliveries, insertDeliveryRows } from './webhook-events.js';
import { LOCK_CLASS, lockForTransaction } from '../advisory-locks.js';
import { idAtTime } from '../../ids.js';

/** A delivery the deliverer holds: what to send, where, and the sealed secret to sign with. */
export interface DueDelivery {
  id: string;
  webhookId: string;
  orgId: string;
  eventId: string;
  event: string;
  payload: string;
  attempts: number;
  createdAt: string;
  url: string;
  secretSealed: Buffer;
}

const toDelivery = (r: WebhookDeliveriesTable): WebhookDelivery => ({
  id: r.id,
  webhookId: r.webhook_id,
  eventId: r.event_id,
  event: r.event,
  status: r.status as WebhookDelivery['status'],
  attempts: r.attempts,
  nextAttemptAt: r.status === 'pending' ? r.next_attempt_at : null,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  lastLatencyMs: r.last_latency_ms,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

/** What one replica asks for: how many, for how long, and what it is already sending. */
export interface DeliveryClaim {
  limit: number;
  leaseMs: number;
  /** Webhooks this replica is sending to now: none of theirs is claimed (one at a time per webhook, in order). */
  busyWebhooks: ReadonlySet<string>;
  /** Deliveries this replica has in flight per org, and the most one org may have (a tarpit holds only its own). */
  inFlightByOrg: ReadonlyMap<string, number>;
  perOrg: number;
}

/** Webhooks with a due delivery read per claim (each counts once, however many it has due). */
const DUE_WEBHOOKS_SCANNED = 500;

/**
 * Claims due deliveries, at most one per webhook and `perOrg` per org in flight, the longest-waiting
 * webhook first: a receiver that never answers, or one org's backlog, delays only its own deliveries
 * (docs/operations.md, "Webhooks"). Each claimed delivery's next attempt moves to the end of the lease and the attempt
 * is counted, so another replica (or this one after a crash) sends it again only if this send is never
 * recorded. On PostgreSQL a delivery another replica is claiming is skipped, not waited for.
 */
export async function claimDueDeliveries(db: Kysely<Database>, c: DeliveryClaim): Promise<DueDelivery[]> {
  const now = nowIso();
  const run = async (trx: Db): Promise<DueDelivery[]> => {
    // Webhooks already being sent to, and orgs at their share, are left out of the scan itself: an org with
    // more due webhooks than the scan reads cannot hide another org's behind its own.
    const atShare = [...c.inFlightByOrg].filter(([, n]) => n >= c.perOrg).map(([org]) => org);
    // One index seek per webhook for its next due delivery (webhook_deliveries_webhook_due), never a pass over
    // every pending delivery: a webhook with tens of thousands waiting costs a claim what one with one does.
    let hooks = trx
      .selectFrom('webhooks')
      .select((eb) => [
        'webhooks.id as webhook_id',
        'webhooks.org_id as org_id',
        eb
          .selectFrom('webhook_deliveries')
          .select('webhook_deliveries.next_attempt_at')
          .whereRef('webhook_deliveries.webhook_id', '=', 'webhooks.id')
          .where('webhook_deliveries.status', '=', 'pending')
          .where('webhook_deliveries.next_attempt_at', 'is not', null)
          .orderBy('webhook_deliveries.next_attempt_at')
          .limit(1)
          .as('due_at'),
      ]);
    if (atShare.length > 0) hooks = hooks.where('webhooks.org_id', 'not in', atShare);
    if (c.busyWebhooks.size > 0) hooks = hooks.where('webhooks.id', 'not in', [...c.busyWebhooks]);
    const webhooks = await trx
      .selectFrom(hooks.as('h'))
      .select(['h.webhook_id', 'h.org_id', 'h.due_at'])
      .where('h.due_at', '<=', now)
      .orderBy('h.due_at')
      .limit(DUE_WEBHOOKS_SCANNED)
      .execute();
    const inFlight = new Map(c.inFlightByOrg);
    const ids: string[] = [];
    for (const w of webhooks) {
      if (ids.length >= c.limit) break;
      const orgCount = inFlight.get(w.org_id) ?? 0;
      if (c.busyWebhooks.has(w.webhook_id) || orgCount >= c.perOrg) continue;
      let oldest = trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .where('webhook_id', '=', w.webhook_id)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(1);
      if (isPostgres(trx)) oldest = oldest.forUpdate().skipLocked();
      const row = await oldest.executeTakeFirst();
      if (!row) continue;
      ids.push(row.id);
      inFlight.set(w.org_id, orgCount + 1);
    }
    if (ids.length === 0) return [];
    await trx
      .updateTable('webhook_deliveries')
      .set((eb) => ({ next_attempt_at: isoAfter(c.leaseMs), attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', ids)
      .execute();
    const full = await trx
      .selectFrom('webhook_deliveries')
      .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
      .select([
        'webhook_deliveries.id',
        'webhook_deliveries.webhook_id',
        'webhook_deliveries.org_id',
        'webhook_deliveries.event_id',
        'webhook_deliveries.event',
        'webhook_deliveries.payload',
        'webhook_deliveries.attempts',
        'webhook_deliveries.created_at',
        'webhooks.url',
        'webhooks.secret_sealed',
      ])
      .where('webhook_deliveries.id', 'in', ids)
      .execute();
    return full.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      orgId: r.org_id,
      eventId: r.event_id,
      event: r.event,
      payload: r.payload,
      attempts: r.attempts,
      createdAt: r.created_at,
      url: r.url,
      secretSealed: Buffer.from(r.secret_sealed),
    }));
  };
  return db.transaction().execute(run);
}

/** Records one attempt's result: delivered, retried at `retryAt`, or (retryAt null) given up. */
export async function recordDeliveryAttempt(
  db: Db,
  id: string,
  result: { ok: boolean; statusCode: number | null; error: string | null; latencyMs: number; retryAt: string | null },
): Promise<void> {
  const now = nowIso();
  await db
    .updateTable('webhook_deliveries')
    .set({
      status: result.ok ? 'delivered' : result.retryAt ? 'pending' : 'failed',
      next_attempt_at: result.ok ? null : result.retryAt,
      delivered_at: result.ok ? now : null,
      last_status_code: result.statusCode,
      last_error: result.error?.slice(0, 500) ?? null,
      last_latency_ms: Math.round(result.latencyMs),
    })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .execute();
}

export async function listDeliveries(db: Db, orgId: string, webhookId: string, limit: number): Promise<WebhookDelivery[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toDelivery);
}

export async function getDelivery(db: Db, orgId: string, webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
  const r = await db.selectFrom('webhook_deliveries').selectAll().where('org_id', '=', orgId).where('webhook_id', '=', webhookId).where('id', '=', id).executeTakeFirst();
  return r ? toDelivery(r) : undefined;
}

/**
 * Before a delivery asked for by hand, under the webhook's lock (ownWebhookLocked: racing requests on
 * PostgreSQL wait for each other until the insert commits): refuses it while the webhook has
 * MAX_PENDING_FOR_MANUAL_DELIVERY waiting, and drops the webhook's ended deliveries beyond the newest
 * MAX_ENDED_DELIVERIES_KEPT. A script redelivering in a loop can neither grow the outbox's pending rows nor
 * its history without bound (a build's events are never refused; retention removes their ended rows with age).
 */
async function makeRoomForManualDelivery(db: Db, webhookId: string): Promise<void> {
  const waiting = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .offset(MAX_PENDING_FOR_MANUAL_DELIVERY - 1)
    .limit(1)
    .executeTakeFirst();
  if (waiting) throw new ApiError('LIMIT_REACHED', `the webhook has ${MAX_PENDING_FOR_MANUAL_DELIVERY} deliveries waiting; wait for the receiver to take some`);
  const oldestKept = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('webhook_id', '=', webhookId)
    .where('status', '!=', 'pending')
    .orderBy('id', 'desc')
    .offset(MAX_ENDED_DELIVERIES_KEPT - 1)
    .limit(1)
    .executeTakeFirst();
  if (oldestKept) {
    await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', webhookId).where('status', '!=', 'pending').where('id', '<', oldestKept.id).execute();
  }
}

/**
 * Takes the webhook's manual-delivery lock, then answers whether the webhook is the org's. A delete holds
 * the same lock (queries/webhooks.ts), so once this answers true the webhook stays until the commit: a
 * delivery by hand never outlives its webhook as a pending row nothing claims or expires.
 */
async function ownWebhookLocked(db: Db, orgId: string, webhookId: string): Promise<boolean> {
  await lockForTransaction(db, LOCK_CLASS.manualDelivery, webhookId);
  return (await db.selectFrom('webhooks').select('id').where('id', '=', webhookId).where('org_id', '=', orgId).executeTakeFirst()) !== undefined;
}

/** Retention: deletes up to `limit` ended deliveries made before `cutoff` (ms); answers how many. */
export async function expireDeliveries(db: Db, cutoff: number, limit: number): Promise<number> {
  const old = db.selectFrom('webhook_deliveries').select('id').where('id', '<', idAtTime('dlv', cutoff)).where('status', '!=', 'pending').limit(limit);
  const r = await db.deleteFrom('webhook_deliveries').where('id', 'in', old).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Deletes up to `limit` deliveries of webhooks that no longer exist; answers how many. On PostgreSQL a build
 * event that read its webhooks before a racing delete committed inserts rows the delete could not see: no
 * claim reaches them (claims start from the webhooks), so they are only garbage, swept with retention.
 */
export async function deleteOrphanDeliveries(db: Db, limit: number): Promise<number> {
  const orphans = db
    .selectFrom('webhook_deliveries as d')
    .select('d.id')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('webhooks as w').select('w.id').whereRef('w.id', '=', 'd.webhook_id'))))
    .limit(limit);
  const r = await db.deleteFrom('webhook_deliveries').where('id', 'in', orphans).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** A new delivery of the same event (same body and event id, so receivers can tell a repeat), due now. */
export async function redeliver(db: Db, orgId: string, webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
  return inTransaction(db, (trx) => redeliverIn(trx, orgId, webhookId, id));
}

async function redeliverIn(db: Db, orgId: string, webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
  if (!(await ownWebhookLocked(db, orgId, webhookId))) return undefined;
  const r = await db
    .selectFrom('webhook_deliveries')
    .select(['event_id', 'event', 'payload'])
    .where('org_id', '=', orgId)
    .where('webhook_id', '=', webhookId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) return undefined;
  await makeRoomForManualDelivery(db, webhookId);
  const [copy] = await insertDeliveryRows(db, orgId, [webhookId], r.event_id, r.event, r.payload);
  return getDelivery(db, orgId, webhookId, copy!);
}

/**
 * The test ping: a `ping` event for this one webhook, due now; while one is still pending, that one
 * (a webhook has at most one ping waiting, however often it is tested).
 */
export async function enqueuePing(db: Db, orgId: string, webhookId: string): Promise<string> {
  return inTransaction(db, (trx) => enqueuePingIn(trx, orgId, webhookId));
}

/** NOT_FOUND when the webhook is not the org's: another org's webhook gets no ping (signed with its secret) and loses no history. */
async function enqueuePingIn(db: Db, orgId: string, webhookId: string): Promise<string> {
  // Racing pings find the one pending.
  if (!(await ownWebhookLocked(db, orgId, webhookId))) throw new ApiError('NOT_FOUND', 'no such webhook');
  const pending = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('webhook_id', '=', webhookId)
    .where('org_id', '=', orgId)
    .where('event', '=', 'ping')
    .where('status', '=', 'pending')
    .limit(1)
    .executeTakeFirst();
  if (pending) return pending.id;
  await makeRoomForManualDelivery(db, webhookId);
  const [id] = await insertDeliveries(db, orgId, [webhookId], 'ping', { webhookId, message: 'a test delivery from BuildMesh' });
  return id!;
}
