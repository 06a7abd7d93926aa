import {
  ApiError,
  CreatedWebhook,
  CreateWebhookRequest,
  Ok,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookDeliveryParams,
  WebhookDeliveryQuery,
  WebhookList,
  WebhookParams,
} from '@buildmesh/protocol';
import type { App } from '../http/app.js';
import type { ControllerContext } from '../context.js';
import { audit } from '../audit/record.js';
import { userOf } from '../auth/roles.js';
import { addWebhook, pingWebhook } from '../webhooks/manage.js';

/** Webhooks of the caller's org (admin tokens): add, list, remove, delivery log, redelivery, test ping. */
export function registerWebhookRoutes(app: App, ctx: ControllerContext): void {
  const tags = ['webhooks'];
  app.post('/v1/webhooks', { config: { access: 'admin', body: 'json' }, schema: { tags, body: CreateWebhookRequest, response: { 201: CreatedWebhook } } }, async (request, reply) => {
    const created = await addWebhook(ctx, userOf(request).orgId, request.body);
    await audit(ctx, request, { action: 'webhook.create', orgId: created.webhook.orgId, target: { type: 'webhook', id: created.webhook.id }, details: { url: created.webhook.url } });
    return reply.code(201).send(created);
  });

  app.get('/v1/webhooks', { config: { access: 'admin' }, schema: { tags, response: { 200: WebhookList } } }, async (request) => ({
    webhooks: await ctx.store.listWebhooks(userOf(request).orgId),
  }));

  app.get('/v1/webhooks/:id', { config: { access: 'admin' }, schema: { tags, params: WebhookParams, response: { 200: Webhook } } }, async (request) => {
    const webhook = await ctx.store.getWebhook(userOf(request).orgId, request.params.id);
    if (!webhook) throw new ApiError('NOT_FOUND', 'no such webhook');
    return webhook;
  });

  app.delete('/v1/webhooks/:id', { config: { access: 'admin' }, schema: { tags, params: WebhookParams, response: { 200: Ok } } }, async (request) => {
    if (!(await ctx.store.deleteWebhook(userOf(request).orgId, request.params.id))) throw new ApiError('NOT_FOUND', 'no such webhook');
    await audit(ctx, request, { action: 'webhook.delete', orgId: userOf(request).orgId, target: { type: 'webhook', id: request.params.id } });
    return { ok: true as const };
  });

  app.get(
    '/v1/webhooks/:id/deliveries',
    { config: { access: 'admin' }, schema: { tags, params: WebhookParams, querystring: WebhookDeliveryQuery, response: { 200: WebhookDeliveryList } } },
    async (request) => {
      const orgId = userOf(request).orgId;
      if (!(await ctx.store.getWebhook(orgId, request.params.id))) throw new ApiError('NOT_FOUND', 'no such webhook');
      return { deliveries: await ctx.store.listDeliveries(orgId, request.params.id, request.query.limit ?? 50) };
    },
  );

  app.post(
    '/v1/webhooks/:id/deliveries/:delivery/redeliver',
    { config: { access: 'admin', body: 'json' }, schema: { tags, params: WebhookDeliveryParams, response: { 201: WebhookDelivery } } },
    async (request, reply) => {
      const copy = await ctx.store.redeliver(userOf(request).orgId, request.params.id, request.params.delivery);
      if (!copy) throw new ApiError('NOT_FOUND', 'no such delivery');
      return reply.code(201).send(copy);
    },
  );

  app.post(
    '/v1/webhooks/:id/test',
    {
      config: { access: 'admin', body: 'json' },
      schema: { tags, params: WebhookParams, response: { 200: WebhookDelivery }, description: 'Sends a signed `ping` event and answers with its delivery once the first attempt ends (or after 15 s).' },
    },
    async (request) => {
      const delivery = await pingWebhook(ctx, userOf(request).orgId, request.params.id);
      if (!delivery) throw new ApiError('NOT_FOUND', 'no such webhook');
      return delivery;
    },
  );
}
