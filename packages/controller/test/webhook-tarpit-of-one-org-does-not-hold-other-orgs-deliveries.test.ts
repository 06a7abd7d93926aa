/**
 * A hostile org admin points webhooks at a tarpit (accepts the connection, never answers) and queues
 * deliveries to them. Before the fix the deliverer sent claimed batches of 20 together, oldest first,
 * and claimed more only when the slowest ended (10 s later): every other org's deliveries waited behind
 * the tarpit (measured: 28.6 s). What must hold: another org's delivery is sent while the tarpit still
 * holds its connections; one org holds at most 8 sends at once, a webhook one; testing a webhook again
 * while its ping is pending queues nothing more.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket, type AddressInfo } from 'node:net';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, eventually } from './helpers/fixtures.js';
import { startWebhookReceiver } from './helpers/webhook-receiver.js';

test("one org's tarpit receiver does not hold another org's webhook deliveries", { timeout: 120_000 }, async () => {
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
    const trapUrl = `http://127.0.0.1:${(tarpit.address() as AddressInfo).port}/hook`;
    const traps = [];
    for (let i = 0; i < 12; i++) traps.push((await evil.admin.createWebhook({ url: `${trapUrl}${i}`, events: ['build.queued'] })).webhook);
    const { webhook: hook } = await acme.admin.createWebhook({ url: honest.url, events: ['build.queued'] });
    // Each trap tested twice: the second test of a webhook whose ping is pending queues nothing more.
    const pings = traps.flatMap((trap) => [evil.admin.testWebhook(trap.id).catch(() => undefined), evil.admin.testWebhook(trap.id).catch(() => undefined)]);
    await eventually(async () => held.length >= 8, 20_000, 'the tarpit holds the org\'s share of sends');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(held.length, 8, 'one org holds at most 8 sends at once');
    const acmePing = acme.admin.testWebhook(hook.id).catch(() => undefined);
    await eventually(async () => honest.received.length >= 1 || closedByController > 0, 30_000, "acme's delivery or the tarpit's first cut");
    assert.equal(honest.received.length, 1, `acme's delivery waited for the tarpit (${closedByController} tarpit connections cut first)`);
    await Promise.all([...pings, acmePing]);
    const pending = await Promise.all(traps.map(async (trap) => (await evil.admin.webhookDeliveries(trap.id)).deliveries.length));
    assert.deepEqual(pending, traps.map(() => 1), 'one ping per webhook, however often it was tested');
  } finally {
    for (const s of held) s.destroy();
    tarpit.close();
    await honest.stop();
    await controller.dispose();
  }
});
