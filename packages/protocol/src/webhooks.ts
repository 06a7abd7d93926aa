/**
 * Webhooks: an org's endpoints (optionally one project's), the events they hear,
 * and the delivery log. Signing and the headers are described in docs/api.md
 * ("Webhooks"): `BuildMesh-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 */
import { Type, type Static } from 'typebox';
import { Id, Name, Timestamp } from './common.js';

export const WEBHOOK_EVENTS = [
  'build.queued',
  'build.started',
  'build.succeeded',
  'build.failed',
  'build.canceled',
  'build.timed_out',
  'worker.online',
  'worker.offline',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];
export const WebhookEventName = Type.Union([
  Type.Literal('build.queued'),
  Type.Literal('build.started'),
  Type.Literal('build.succeeded'),
  Type.Literal('build.failed'),
  Type.Literal('build.canceled'),
  Type.Literal('build.timed_out'),
  Type.Literal('worker.online'),
  Type.Literal('worker.offline'),
]);

/** Request headers of every delivery. */
export const WEBHOOK_SIGNATURE_HEADER = 'buildmesh-signature';
export const WEBHOOK_EVENT_HEADER = 'buildmesh-event';
export const WEBHOOK_DELIVERY_HEADER = 'buildmesh-delivery';
/** Receivers should refuse a signature timestamp further than this from their clock (replay window). */
export const WEBHOOK_REPLAY_WINDOW_S = 300;
/** Webhooks one org may have. */
export const MAX_WEBHOOKS_PER_ORG = 50;
/** Deliveries one webhook may have waiting before a redelivery or test ping by hand is refused (events are never dropped). */
export const MAX_PENDING_FOR_MANUAL_DELIVERY = 1000;
/** Ended (delivered or failed) deliveries one webhook's log keeps; older ones go as new ones are asked for by hand, and with retention. */
export const MAX_ENDED_DELIVERIES_KEPT = 1000;

export const Webhook = Type.Object({
  id: Id('whk'),
  orgId: Type.String(),
  /** null = every project of the org. */
  project: Type.Union([Type.String(), Type.Null()]),
  url: Type.String(),
  events: Type.Array(WebhookEventName),
  createdAt: Timestamp,
});
export type Webhook = Static<typeof Webhook>;

export const CreateWebhookRequest = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://' }),
    /** Default: every event. */
    events: Type.Optional(Type.Array(WebhookEventName, { minItems: 1, maxItems: WEBHOOK_EVENTS.length, uniqueItems: true })),
    /** Only this project's builds (worker events are never project-scoped and are not sent to it). */
    project: Type.Optional(Name),
  },
  { additionalProperties: false },
);
export type CreateWebhookRequest = Static<typeof CreateWebhookRequest>;
/** `secret` (whsec_…) is shown once; the controller keeps it sealed with its encryption key. */
export const CreatedWebhook = Type.Object({ webhook: Webhook, secret: Type.String() });
export type CreatedWebhook = Static<typeof CreatedWebhook>;
export const WebhookList = Type.Object({ webhooks: Type.Array(Webhook) });
export const WebhookParams = Type.Object({ id: Id('whk') });

export const WebhookDeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]);
export const WebhookDelivery = Type.Object({
  id: Id('dlv'),
  webhookId: Type.String(),
  eventId: Type.String(),
  event: Type.String(),
  status: WebhookDeliveryStatus,
  attempts: Type.Integer(),
  nextAttemptAt: Type.Union([Timestamp, Type.Null()]),
  /** The receiver's HTTP status of the last attempt (null: no answer). */
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastLatencyMs: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Timestamp,
  deliveredAt: Type.Union([Timestamp, Type.Null()]),
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;
export const WebhookDeliveryList = Type.Object({ deliveries: Type.Array(WebhookDelivery) });
export const WebhookDeliveryParams = Type.Object({ id: Id('whk'), delivery: Id('dlv') });
export const WebhookDeliveryQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) });

/** The body of every delivery (and of the test ping, whose type is `ping`). */
export interface WebhookPayload {
  id: string;
  type: WebhookEventName | 'ping';
  createdAt: string;
  data: Record<string, unknown>;
}
