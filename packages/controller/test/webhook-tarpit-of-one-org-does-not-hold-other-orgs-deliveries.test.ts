/**
 * A hostile org admin points a webhook at a tarpit (accepts the connection, never answers) and queues
 * deliveries to it (`POST /v1/webhooks/:id/test` has no limit). The deliverer sends a claimed batch of 20
 * together and claims the next batch only when the slowest of them ends (10 s later), oldest first, with
 * no per-org share: every other org's deliveries wait behind the tarpit (measured: 60 tarpit pings held
 * another org's ping 28.6 s; one tarpit delivery in flight holds every delivery queued after it ~10 s).
 * What must hold: another org's delivery is sent while the tarpit still holds its connections.
 * TODO (security, found by review): fails today.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, eventually } from './helpers/fixtures.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

test("one org's tarpit receiver does not hold another org's webhook deliveries", { todo: 'webhook head-of-line blocking across orgs: not fixed yet', timeout: 120_000 }, async () => {
  const held: Socket[] = [];
  let closedByController = 0;
  const tarpit = createServer((socket) => {
    held.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => closedByController++);
    socket.resume();
  });
  await new Promise<void>((resolve) => tarpit.listen(0, '127.0.0.1', resolve));
  const honest = await startWebhookReceiver();
  const controller = await startControllerProcess({ env: { BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1', BUILDMESH_WEBHOOK_RETRY_BASE_MS: '600000' } });
  try {
    const evil = await createTenant(controller, 'evil');
    const acme = await createTenant(controller, 'acme');
    const { webhook: trap } = await evil.admin.createWebhook({ url: `http://127.0.0.1:${(tarpit.address() as AddressInfo).port}/hook`, events: ['build.queued'] });
    const { webhook: hook } = await acme.admin.createWebhook({ url: honest.url, events: ['build.queued'] });
    const pings = Array.from({ length: 25 }, () => evil.admin.testWebhook(trap.id).catch(() => undefined));
    await eventually(async () => held.length >= 20, 20_000, 'the tarpit holds a batch of deliveries');
    const acmePing = acme.admin.testWebhook(hook.id).catch(() => undefined);
    await eventually(async () => honest.received.length >= 1 || closedByController > 0, 30_000, "acme's delivery or the tarpit's first cut");
    assert.equal(honest.received.length, 1, `acme's delivery waited for the tarpit (${closedByController} tarpit connections cut first)`);
    await Promise.all([...pings, acmePing]);
  } finally {
    for (const s of held) s.destroy();
    tarpit.close();
    await honest.stop();
    await controller.dispose();
  }
});
