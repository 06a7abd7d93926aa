import type { WebhookDelivery } from '@buildmesh/protocol';
import { isoAfter, isPostgres, nowIso, type Db } from '../rows.js';
import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable } from '../schema.js';
import { insertDeliveries, insertDeliveryRows } from './webhook-events.js';

/** A delivery the deliverer holds: what to send, where, and the sealed secret to sign with. */
export interface DueDelivery {
  id: string;
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

/**
 * Claims up to `limit` due deliveries for `leaseMs`: their next attempt moves to
 * the end of the lease and the attempt is counted, so another replica (or this
 * one after a crash) sends it again only if this send is never recorded. On
 * PostgreSQL rows another replica is claiming are skipped, not waited for.
 */
export async function claimDueDeliveries(db: Kysely<Database>, limit: number, leaseMs: number): Promise<DueDelivery[]> {
  const now = nowIso();
  const run = async (trx: Db): Promise<DueDelivery[]> => {
    let due = trx
      .selectFrom('webhook_deliveries')
      .select(['id', 'attempts'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(limit);
    if (isPostgres(trx)) due = due.forUpdate().skipLocked();
    const rows = await due.execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    await trx
      .updateTable('webhook_deliveries')
      .set((eb) => ({ next_attempt_at: isoAfter(leaseMs), attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', ids)
      .execute();
    const full = await trx
      .selectFrom('webhook_deliveries')
      .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
      .select([
        'webhook_deliveries.id',
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

/** A new delivery of the same event (same body and event id, so receivers can tell a repeat), due now. */
export async function redeliver(db: Db, orgId: string, webhookId: string, id: string): Promise<WebhookDelivery | undefined> {
  const r = await db
    .selectFrom('webhook_deliveries')
    .select(['event_id', 'event', 'payload'])
    .where('org_id', '=', orgId)
    .where('webhook_id', '=', webhookId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) return undefined;
  const [copy] = await insertDeliveryRows(db, orgId, [webhookId], r.event_id, r.event, r.payload);
  return getDelivery(db, orgId, webhookId, copy!);
}

/** The test ping: a `ping` event for this one webhook, due now. */
export async function enqueuePing(db: Db, orgId: string, webhookId: string): Promise<string> {
  const [id] = await insertDeliveries(db, orgId, [webhookId], 'ping', { webhookId, message: 'a test delivery from BuildMesh' });
  return id!;
}
