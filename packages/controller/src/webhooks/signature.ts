/**
 * Webhook signatures (docs/api.md "Webhooks"): `BuildMesh-Signature: t=<unix seconds>,v1=<hex>`,
 * where hex = HMAC-SHA256(secret, "<t>.<raw body>"). Every attempt is signed afresh,
 * so a receiver can refuse a timestamp outside its replay window (WEBHOOK_REPLAY_WINDOW_S).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { WEBHOOK_REPLAY_WINDOW_S } from '@buildmesh/protocol';

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signWebhook(secret: string, body: string, timestampS = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
  return `t=${timestampS},v1=${mac}`;
}

/** What a receiver does: the header's MAC matches and its timestamp is within the window. */
export function verifyWebhookSignature(secret: string, header: string, body: string, nowS = Math.floor(Date.now() / 1000), windowS = WEBHOOK_REPLAY_WINDOW_S): boolean {
  const parts = new Map(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || Math.abs(nowS - t) > windowS) return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1]!, 'hex');
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
