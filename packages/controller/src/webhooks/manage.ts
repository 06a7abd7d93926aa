/** Webhook rules the routes call: adding one (target check, sealed secret) and the test ping. */
import { ApiError, WEBHOOK_EVENTS, type CreateWebhookRequest, type CreatedWebhook, type WebhookDelivery } from '@buildmesh/protocol';
import type { ControllerContext } from '../context.js';
import { newId } from '../ids.js';
import { newWebhookSecret } from './signature.js';
import { checkWebhookTarget } from './target-guard.js';

export async function addWebhook(ctx: ControllerContext, orgId: string, body: CreateWebhookRequest): Promise<CreatedWebhook> {
  const url = await checkWebhookTarget(body.url, ctx.options.webhookAllowPrivate === 1);
  let project: { id: string; name: string } | null = null;
  if (body.project !== undefined) {
    project = (await ctx.store.getProjectByName(orgId, body.project)) ?? null;
    if (!project) throw new ApiError('NOT_FOUND', `no project ${body.project}`);
  }
  const secret = newWebhookSecret();
  const webhook = await ctx.store.insertWebhook({
    id: newId('whk'),
    orgId,
    projectId: project?.id ?? null,
    projectName: project?.name ?? null,
    url: url.toString(),
    events: body.events ?? [...WEBHOOK_EVENTS],
    secretSealed: ctx.keyring.seal(Buffer.from(secret, 'utf8')),
  });
  ctx.webhooks.webhookAdded();
  return { webhook, secret };
}

/** How long the test ping waits for its first attempt's result before answering with the pending delivery. */
const PING_WAIT_MS = 15_000;

export async function pingWebhook(ctx: ControllerContext, orgId: string, webhookId: string): Promise<WebhookDelivery | undefined> {
  if (!(await ctx.store.getWebhook(orgId, webhookId))) return undefined;
  const id = await ctx.store.enqueuePing(orgId, webhookId);
  const deadline = Date.now() + PING_WAIT_MS;
  for (;;) {
    const delivery = await ctx.store.getDelivery(orgId, webhookId, id);
    if (!delivery || delivery.status !== 'pending' || delivery.lastLatencyMs !== null || Date.now() > deadline) return delivery;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
