import type { WebhookEventName, WebhookPayload } from '@buildmesh/protocol';
import { newId } from '../../ids.js';
import { nowIso, type Db } from '../rows.js';
import { prepared } from '../prepared.js';

/** Runs `fn` in the caller's transaction, or in a new one (so a change and its outbox rows commit together). */
export function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * The webhook outbox, written inside the transaction of the state change it
 * reports: the change and its deliveries commit together or not at all, so a
 * crash right after the commit still delivers (the deliverer finds the rows).
 * With no subscribed webhook this is one indexed read that finds nothing.
 */
/** Run with every state change of every build: prepared (prepared.ts). */
const subscribedHooks = prepared(2, (db, buildId: string, eventPattern: string) =>
  db
    .selectFrom('webhooks')
    .innerJoin('builds', 'builds.org_id', 'webhooks.org_id')
    .select(['webhooks.id'])
    .where('builds.id', '=', buildId)
    .where((eb) => eb.or([eb('webhooks.project_id', 'is', null), eb('webhooks.project_id', '=', eb.ref('builds.project_id'))]))
    .where('webhooks.events', 'like', eventPattern),
);

export async function emitBuildEvent(db: Db, buildId: string, event: WebhookEventName): Promise<number> {
  const hooks = (await subscribedHooks(db, buildId, `%"${event}"%`)).rows;
  if (hooks.length === 0) return 0;
  const b = await db
    .selectFrom('builds')
    .innerJoin('projects', 'projects.id', 'builds.project_id')
    .select([
      'builds.id',
      'builds.org_id',
      'builds.platform',
      'builds.profile_name',
      'builds.status',
      'builds.attempt_count',
      'builds.message',
      'builds.git_commit',
      'builds.created_at',
      'builds.started_at',
      'builds.finished_at',
      'builds.error_code',
      'builds.error_message',
      'builds.error_phase',
      'projects.name as project',
    ])
    .where('builds.id', '=', buildId)
    .executeTakeFirstOrThrow();
  const build = {
    id: b.id,
    orgId: b.org_id,
    project: b.project,
    platform: b.platform,
    profile: b.profile_name,
    status: b.status,
    attempt: b.attempt_count,
    message: b.message,
    gitCommit: b.git_commit,
    createdAt: b.created_at,
    startedAt: b.started_at,
    finishedAt: b.finished_at,
    error: b.error_code ? { code: b.error_code, message: b.error_message, phase: b.error_phase } : null,
  };
  await insertDeliveries(db, b.org_id, hooks.map((h) => h.id), event, { build });
  return hooks.length;
}

/** worker.online / worker.offline, for the worker's own org (shared-pool workers belong to no org and send none). */
export async function emitWorkerEvent(db: Db, worker: { id: string; orgId: string | null; name: string; platforms: string[]; lastSeenAt: string | null }, event: WebhookEventName): Promise<number> {
  if (!worker.orgId) return 0;
  const hooks = await db
    .selectFrom('webhooks')
    .select('id')
    .where('org_id', '=', worker.orgId)
    .where('project_id', 'is', null)
    .where('events', 'like', `%"${event}"%`)
    .execute();
  if (hooks.length === 0) return 0;
  await insertDeliveries(db, worker.orgId, hooks.map((h) => h.id), event, {
    worker: { id: worker.id, name: worker.name, platforms: worker.platforms, lastSeenAt: worker.lastSeenAt },
  });
  return hooks.length;
}

export async function insertDeliveries(db: Db, orgId: string, webhookIds: string[], event: WebhookPayload['type'], data: Record<string, unknown>): Promise<string[]> {
  const eventId = newId('evt');
  const payload: WebhookPayload = { id: eventId, type: event, createdAt: nowIso(), data };
  return insertDeliveryRows(db, orgId, webhookIds, eventId, event, JSON.stringify(payload));
}

/** One pending row per webhook, due now, all with the same body. */
export async function insertDeliveryRows(db: Db, orgId: string, webhookIds: string[], eventId: string, event: string, body: string): Promise<string[]> {
  const now = nowIso();
  const rows = webhookIds.map((webhookId) => ({
    id: newId('dlv'),
    webhook_id: webhookId,
    org_id: orgId,
    event_id: eventId,
    event,
    payload: body,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    last_status_code: null,
    last_error: null,
    last_latency_ms: null,
    created_at: now,
    delivered_at: null,
  }));
  await db.insertInto('webhook_deliveries').values(rows).execute();
  return rows.map((r) => r.id);
}
