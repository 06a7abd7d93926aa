/**
 * A webhook receiver that answers one byte at a time never finishes its answer: the deliverer cuts the
 * exchange at its deadline (10 s for the whole request, not an idle timeout that each byte would reset),
 * records the failure, and closes the connection. Held open, the delivery would outlive its claim lease
 * and be sent a second time by the next poll.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, eventually } from './helpers/fixtures.js';

test('a receiver trickling its answer is cut at the deadline and the delivery is recorded as failed', { timeout: 60_000 }, async () => {
  const sockets: Socket[] = [];
  let closedByController = 0;
  const trickles = new Set<NodeJS.Timeout>();
  const receiver = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => {
      // A status line, then a header that never ends: a byte every 300 ms.
      socket.write('HTTP/1.1 200 OK\r\nX-Slow: ');
      const trickle = setInterval(() => socket.write('a'), 300);
      trickles.add(trickle);
      socket.on('close', () => {
        clearInterval(trickle);
        closedByController++;
      });
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const controller = await startControllerProcess({ env: { BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1', BUILDMESH_WEBHOOK_RETRY_BASE_MS: '600000' } });
  try {
    const tenant = await createTenant(controller, 'acme');
    const { webhook } = await tenant.admin.createWebhook({ url, events: ['build.queued'] });
    await tenant.admin.testWebhook(webhook.id);
    const failed = await eventually(
      async () => (await tenant.admin.webhookDeliveries(webhook.id)).deliveries.find((d) => d.attempts >= 1 && d.lastError !== null),
      25_000,
      'the trickled delivery is recorded as failed',
    );
    assert.match(failed.lastError!, /no answer within 10 s/);
    assert.equal(failed.lastStatusCode, null);
    assert.ok(failed.lastLatencyMs! >= 9_000, `cut at the deadline, not before (${failed.lastLatencyMs} ms)`);
    await eventually(async () => closedByController >= 1, 5_000, 'the controller closed the connection');
    assert.equal(sockets.length, 1, 'sent once: the retry is ten minutes away');
  } finally {
    for (const t of trickles) clearInterval(t);
    for (const s of sockets) s.destroy();
    receiver.close();
    await controller.dispose();
  }
});
