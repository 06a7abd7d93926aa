import { ApiError, MAX_WEBHOOKS_PER_ORG, type Webhook, type WebhookEventName } from '@buildmesh/protocol';
import { nowIso, type Db } from '../rows.js';
import { inTransaction } from './webhook-events.js';
import type { WebhooksTable } from '../schema.js';
import { LOCK_CLASS, lockForTransaction } from '../advisory-locks.js';

/** An org's webhook endpoints; the sealed secret is read only by the deliverer. */
const toWebhook = (r: WebhooksTable & { project_name: string | null }): Webhook => ({
  id: r.id,
  orgId: r.org_id,
  project: r.project_name,
  url: r.url,
  events: JSON.parse(r.events) as WebhookEventName[],
  createdAt: r.created_at,
});

const selectWebhooks = (db: Db) =>
  db.selectFrom('webhooks').leftJoin('projects', 'projects.id', 'webhooks.project_id').selectAll('webhooks').select('projects.name as project_name');

export async function insertWebhook(
  db: Db,
  w: { id: string; orgId: string; projectId: string | null; projectName: string | null; url: string; events: WebhookEventName[]; secretSealed: Buffer },
): Promise<Webhook> {
  const row = { id: w.id, org_id: w.orgId, project_id: w.projectId, url: w.url, events: JSON.stringify(w.events), secret_sealed: w.secretSealed, created_at: nowIso() };
  return inTransaction(db, async (trx) => {
    // Counted in the inserting transaction, on PostgreSQL under the org's lock (racing adds on any connection
    // or replica would each see the org below the limit); on SQLite the one writer serialises them.
    await lockForTransaction(trx, LOCK_CLASS.orgWebhooks, w.orgId);
    const { n } = await trx.selectFrom('webhooks').select((eb) => eb.fn.countAll<number>().as('n')).where('org_id', '=', w.orgId).executeTakeFirstOrThrow();
    if (Number(n) >= MAX_WEBHOOKS_PER_ORG) throw new ApiError('LIMIT_REACHED', `an org may have ${MAX_WEBHOOKS_PER_ORG} webhooks; remove one first`);
    await trx.insertInto('webhooks').values(row).execute();
    return toWebhook({ ...row, project_name: w.projectName });
  });
}

export async function listWebhooks(db: Db, orgId: string): Promise<Webhook[]> {
  return (await selectWebhooks(db).where('webhooks.org_id', '=', orgId).orderBy('webhooks.id').execute()).map(toWebhook);
}

export async function getWebhook(db: Db, orgId: string, id: string): Promise<Webhook | undefined> {
  const r = await selectWebhooks(db).where('webhooks.org_id', '=', orgId).where('webhooks.id', '=', id).executeTakeFirst();
  return r ? toWebhook(r) : undefined;
}

/**
 * Removes the endpoint and its delivery log (pending deliveries are never sent), in one transaction under
 * the webhook's manual-delivery lock: a redelivery or ping racing the delete either lands before it (and is
 * deleted with the rest) or finds no webhook, never leaving a pending row no claim or retention reaches.
 */
export async function deleteWebhook(db: Db, orgId: string, id: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    await lockForTransaction(trx, LOCK_CLASS.manualDelivery, id);
    const r = await trx.deleteFrom('webhooks').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) return false;
    await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
    return true;
  });
}

export async function anyWebhook(db: Db): Promise<boolean> {
  return (await db.selectFrom('webhooks').select('id').limit(1).executeTakeFirst()) !== undefined;
}
