/**
 * `buildmesh webhooks` against a real controller process and a loopback receiver: add prints
 * the secret once, test sends a signed ping the receiver can verify, deliveries shows it,
 * redeliver sends it again, rm removes the webhook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../controller/src/webhooks/signature.js';
import { runCli, runJson } from './helpers/cli.js';
import { startTestController } from '../../../test/helpers/controller.js';

test('webhooks add, test, deliveries, redeliver, list and rm', { timeout: 120_000 }, async (t) => {
  const received: Array<{ signature: string; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ signature: String(req.headers['buildmesh-signature']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const controller = await startTestController(t, { env: { BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1' } });
  const org = await controller.admin.createOrg('acme');
  const admin = await controller.admin.createToken({ name: 'acme-admin', role: 'admin', orgId: org.id });
  const env = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: admin.secret };

  const bad = await runCli(['webhooks', 'add', url, '--events', 'build.exploded', '--json'], { env });
  assert.notEqual(bad.code, 0);
  const created = await runJson<{ webhook: { id: string; url: string; events: string[] }; secret: string }>(['webhooks', 'add', url, '--events', 'build.succeeded,build.failed', '--json'], { env });
  assert.deepEqual(created.webhook.events, ['build.succeeded', 'build.failed']);
  assert.match(created.secret, /^whsec_/);

  const listed = await runJson<{ webhooks: Array<{ id: string }> }>(['webhooks', 'list', '--json'], { env });
  assert.deepEqual(listed.webhooks.map((w) => w.id), [created.webhook.id]);
  assert.ok(!JSON.stringify(listed).includes(created.secret), 'the secret is never shown again');

  const ping = await runJson<{ id: string; event: string; status: string; lastStatusCode: number }>(['webhooks', 'test', created.webhook.id, '--json'], { env });
  assert.equal(ping.event, 'ping');
  assert.equal(ping.status, 'delivered');
  assert.equal(ping.lastStatusCode, 204);
  assert.equal(received.length, 1);
  assert.ok(verifyWebhookSignature(created.secret, received[0]!.signature, received[0]!.body));

  const log = await runJson<{ deliveries: Array<{ id: string; event: string; attempts: number }> }>(['webhooks', 'deliveries', created.webhook.id, '--json'], { env });
  assert.deepEqual(log.deliveries.map((d) => [d.id, d.event, d.attempts]), [[ping.id, 'ping', 1]]);
  const human = await runCli(['webhooks', 'deliveries', created.webhook.id], { env });
  assert.match(human.stdout, /ping\s+delivered\s+1\s+204/);

  await runJson(['webhooks', 'redeliver', created.webhook.id, ping.id, '--json'], { env });
  const deadline = Date.now() + 10_000;
  while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 2);
  assert.equal(received[1]!.body, received[0]!.body, 'the same event again');

  assert.deepEqual(await runJson(['webhooks', 'rm', created.webhook.id, '--json'], { env }), { id: created.webhook.id, removed: true });
  assert.deepEqual((await runJson<{ webhooks: unknown[] }>(['webhooks', 'list', '--json'], { env })).webhooks, []);
});
