/**
 * Sends the webhook outbox. Every replica runs one: due deliveries are claimed
 * with a lease (SKIP LOCKED on PostgreSQL), so each is sent by one replica at a
 * time, and one that a crashed replica held is sent again when its lease ends.
 * A commit that wrote deliveries pokes this replica's deliverer at once
 * (Store.onOutbox); a poll every second finds the rest (other replicas' rows,
 * retries, restarts). Sends run as a pool: one at a time per webhook (in order),
 * at most PER_ORG_IN_FLIGHT per org, MAX_IN_FLIGHT in all, each freed slot
 * refilled at once. Retries back off exponentially (BUILDMESH_WEBHOOK_RETRY_BASE_MS,
 * doubling, at most 4 h apart) and stop about a day after the event.
 */
import http from 'node:http';
import https from 'node:https';
import type { FastifyBaseLogger } from 'fastify';
import { WEBHOOK_DELIVERY_HEADER, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER } from '@buildmesh/protocol';
import type { Keyring } from '../crypto/keyring.js';
import type { Store } from '../store/store.js';
import type { DueDelivery } from '../store/queries/webhook-deliveries.js';
import { signWebhook } from '../webhooks/signature.js';
import { guardedLookup, literalRefused, webhookPolicy } from '../webhooks/target-guard.js';

const POLL_MS = 1000;
/** Deliveries one replica sends at once; a slot that frees is filled at once (no batch waits for its slowest). */
const MAX_IN_FLIGHT = 32;
/** The most of them one org may hold: a receiver that never answers delays only its own org's deliveries. */
const PER_ORG_IN_FLIGHT = 8;
const REQUEST_TIMEOUT_MS = 10_000;
/** A claimed delivery is offered again after this if its result is never recorded (the replica died mid-send). */
const CLAIM_LEASE_MS = REQUEST_TIMEOUT_MS + 5_000;
const MAX_BACKOFF_MS = 4 * 3600_000;
/** Deliveries still failing this long after their event are given up (status failed; redeliver sends them again). */
export const WEBHOOK_GIVE_UP_AFTER_MS = 24 * 3600_000;

export interface WebhookDelivererOptions {
  allowPrivate: boolean;
  retryBaseMs: number;
  userAgent: string;
}

export interface WebhookDeliverer {
  /** Look for due deliveries now (coalesced with a run in progress). */
  poke(): void;
  /** A webhook now exists: pokes are no longer skipped. */
  webhookAdded(): void;
  stop(): Promise<void>;
}

/** When to try again after `attempts` failed sends, or null to give up. */
export function nextRetryAt(attempts: number, createdAt: string, retryBaseMs: number, now = Date.now()): string | null {
  const delay = Math.min(retryBaseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS) * (0.9 + Math.random() * 0.2);
  const at = now + delay;
  return at - Date.parse(createdAt) > WEBHOOK_GIVE_UP_AFTER_MS ? null : new Date(at).toISOString();
}

interface SendResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
}

function send(d: DueDelivery, secret: string, options: WebhookDelivererOptions): Promise<SendResult> {
  const started = performance.now();
  const done = (r: Omit<SendResult, 'latencyMs'>): SendResult => ({ ...r, latencyMs: performance.now() - started });
  let url: URL;
  try {
    url = new URL(d.url);
  } catch {
    return Promise.resolve(done({ ok: false, statusCode: null, error: 'the webhook URL is not valid' }));
  }
  const literal = literalRefused(url, options.allowPrivate);
  if (literal) return Promise.resolve(done({ ok: false, statusCode: null, error: literal }));
  const body = Buffer.from(d.payload, 'utf8');
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<SendResult, 'latencyMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(done(r));
    };
    const request = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(webhookPolicy(options.allowPrivate)),
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          'user-agent': options.userAgent,
          [WEBHOOK_EVENT_HEADER]: d.event,
          [WEBHOOK_DELIVERY_HEADER]: d.id,
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(secret, d.payload),
        },
      },
      (response) => {
        const code = response.statusCode ?? 0;
        // The status is the answer: the body is never read, so a receiver trickling one cannot hold the delivery.
        response.destroy();
        finish({ ok: code >= 200 && code < 300, statusCode: code, error: code >= 200 && code < 300 ? null : `the receiver answered ${code}` });
      },
    );
    // A deadline for the whole exchange (connect, send, the answer's status and headers), not an idle timeout:
    // a receiver trickling bytes would reset one, and hold the delivery past its claim lease (a second sender).
    const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)), REQUEST_TIMEOUT_MS);
    request.on('error', (err) => finish({ ok: false, statusCode: null, error: err.message }));
    request.end(body);
  });
}

export function startWebhookDeliverer(store: Store, keyring: Keyring, options: WebhookDelivererOptions, log: FastifyBaseLogger): WebhookDeliverer {
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  /** Only skips pokes while no webhook exists anywhere; the poll below keeps it current. */
  let webhooksExist = true;

  const deliver = async (d: DueDelivery): Promise<void> => {
    let result: SendResult;
    try {
      result = await send(d, keyring.open(d.secretSealed).toString('utf8'), options);
    } catch (err) {
      result = { ok: false, statusCode: null, error: `the webhook secret could not be opened: ${(err as Error).message}`, latencyMs: 0 };
    }
    const retryAt = result.ok ? null : nextRetryAt(d.attempts, d.createdAt, options.retryBaseMs);
    await store.recordDeliveryAttempt(d.id, { ...result, retryAt });
    if (!result.ok) log.info({ delivery: d.id, event: d.event, attempts: d.attempts, error: result.error, retryAt }, 'webhook delivery failed');
  };

  /** The sends under way; what a claim must leave out (their webhooks, orgs at their share) is read from it. */
  const inFlight = new Map<Promise<void>, DueDelivery>();

  const start = (d: DueDelivery): void => {
    const sending: Promise<void> = deliver(d)
      .catch((err: unknown) => log.error({ err, delivery: d.id }, 'webhook delivery could not be recorded'))
      .finally(() => {
        inFlight.delete(sending);
        run(); // a slot is free
      });
    inFlight.set(sending, d);
  };

  const fill = async (): Promise<void> => {
    do {
      again = false;
      while (!stopped && inFlight.size < MAX_IN_FLIGHT) {
        const sent = [...inFlight.values()];
        const inFlightByOrg = new Map<string, number>();
        for (const d of sent) inFlightByOrg.set(d.orgId, (inFlightByOrg.get(d.orgId) ?? 0) + 1);
        const due = await store.claimDueDeliveries({
          limit: MAX_IN_FLIGHT - inFlight.size,
          leaseMs: CLAIM_LEASE_MS,
          busyWebhooks: new Set(sent.map((d) => d.webhookId)),
          inFlightByOrg,
          perOrg: PER_ORG_IN_FLIGHT,
        });
        if (due.length === 0) break;
        webhooksExist = true;
        for (const d of due) start(d);
      }
    } while (again && !stopped);
  };

  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = fill()
      .catch((err: unknown) => log.error({ err }, 'webhook delivery pass failed'))
      .finally(() => {
        running = undefined;
      });
  };

  const poll = async (): Promise<void> => {
    try {
      webhooksExist = await store.anyWebhook();
    } catch (err) {
      log.warn({ err }, 'webhook poll failed');
    }
    if (webhooksExist) run();
  };
  const timer = setInterval(() => void poll(), POLL_MS);
  timer.unref();
  store.onOutbox(() => {
    if (webhooksExist) run();
  });
  void poll();

  return {
    poke: run,
    webhookAdded() {
      webhooksExist = true;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      await Promise.all(inFlight.keys());
    },
  };
}
