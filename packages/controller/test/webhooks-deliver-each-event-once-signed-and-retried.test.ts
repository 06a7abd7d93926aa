import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, WEBHOOK_EVENTS, WEBHOOK_DELIVERY_HEADER, WEBHOOK_EVENT_HEADER, WEBHOOK_SIGNATURE_HEADER, type WebhookPayload } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, eventually, sleep, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { startWebhookReceiver, type ReceivedWebhook } from './helpers/webhook-receiver.js';
import { verifyWebhookSignature } from '../src/webhooks/signature.js';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

const WEBHOOK_ENV = { BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1', BUILDMESH_WEBHOOK_RETRY_BASE_MS: '100' };

const events = (received: ReceivedWebhook[]) => received.map((r) => (JSON.parse(r.body) as WebhookPayload).type);

for (const store of ['sqlite', 'postgres'] as const) {
  const skip = store === 'postgres' ? pgSkip : false;
  /** A controller process on this store (PostgreSQL: a fresh database, dropped afterwards). */
  const start = async () => {
    if (store === 'sqlite') return { controller: await startControllerProcess({ env: WEBHOOK_ENV }), drop: async () => undefined };
    const db = await createTestDatabase();
    const env = { ...WEBHOOK_ENV, BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    return { controller: await startControllerProcess({ env }), drop: () => db.drop() };
  };

  test(`${store}: each state change reaches the receiver once, signed; another org cannot see the webhook`, { timeout: 60_000, skip }, async () => {
    const { controller, drop } = await start();
    const receiver = await startWebhookReceiver();
    try {
      const tenant = await createTenant(controller, 'acme');
      const other = await createTenant(controller, 'globex');
      // Build events (worker events have their own test: their offline timing would race this one's).
      const buildEvents = WEBHOOK_EVENTS.filter((e) => e.startsWith('build.'));
      const { webhook, secret } = await tenant.admin.createWebhook({ url: receiver.url, events: buildEvents });
      assert.match(secret, /^whsec_/);
      await assert.rejects(other.admin.webhookDeliveries(webhook.id), (e: unknown) => e instanceof ApiError && e.code === 'NOT_FOUND');
      assert.deepEqual((await other.admin.listWebhooks()).webhooks, []);
      await assert.rejects(tenant.member.listWebhooks(), (e: unknown) => e instanceof ApiError && e.code === 'FORBIDDEN');

      const worker = await enrollWorker(tenant.admin, { platforms: ['android'] });
      const built = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
      const job = await worker.client.claim(2000);
      assert.equal(job?.build.id, built.id);
      await worker.client.finish(job!.attempt.id, { outcome: 'succeeded' });
      const canceled = await tenant.member.createBuild(buildSpec({ platform: 'ios' }), streamOf(await tinyTarGz('x')));
      await tenant.member.cancelBuild(canceled.id);
      // Another org's builds are not this webhook's business.
      await other.member.createBuild(buildSpec(), streamOf(await tinyTarGz('other')));

      await eventually(async () => receiver.received.length >= 5, 10_000, 'five deliveries');
      await sleep(1500); // no duplicate arrives later
      assert.deepEqual(events(receiver.received).sort(), ['build.canceled', 'build.queued', 'build.queued', 'build.started', 'build.succeeded']);
      for (const r of receiver.received) {
        const payload = JSON.parse(r.body) as WebhookPayload & { data: { build: { id: string; orgId: string } } };
        assert.ok(verifyWebhookSignature(secret, String(r.headers[WEBHOOK_SIGNATURE_HEADER]), r.body), 'a valid signature');
        assert.equal(verifyWebhookSignature('whsec_wrong', String(r.headers[WEBHOOK_SIGNATURE_HEADER]), r.body), false);
        assert.equal(verifyWebhookSignature(secret, String(r.headers[WEBHOOK_SIGNATURE_HEADER]), r.body + ' '), false, 'an altered body fails');
        assert.equal(r.headers[WEBHOOK_EVENT_HEADER], payload.type);
        assert.match(String(r.headers[WEBHOOK_DELIVERY_HEADER]), /^dlv_/);
        assert.equal(payload.data.build.orgId, tenant.org.id);
      }
      const succeeded = receiver.received.map((r) => JSON.parse(r.body) as WebhookPayload & { data: { build: { id: string; status: string } } }).find((p) => p.type === 'build.succeeded')!;
      assert.equal(succeeded.data.build.id, built.id);
      assert.equal(succeeded.data.build.status, 'succeeded');

      const log = (await tenant.admin.webhookDeliveries(webhook.id)).deliveries;
      assert.equal(log.length, 5);
      for (const d of log) {
        assert.equal(d.status, 'delivered');
        assert.equal(d.attempts, 1);
        assert.equal(d.lastStatusCode, 200);
        assert.equal(typeof d.lastLatencyMs, 'number');
      }

      // Redelivery sends the same event (same body and event id) again, as a new delivery.
      const copy = await tenant.admin.redeliverWebhook(webhook.id, log[0]!.id);
      assert.equal(copy.eventId, log[0]!.eventId);
      await eventually(async () => receiver.received.length === 6, 10_000, 'the redelivery');
      assert.equal(JSON.parse(receiver.received[5]!.body).id, log[0]!.eventId);

      // The test ping answers with its delivery's result.
      const ping = await tenant.admin.testWebhook(webhook.id);
      assert.equal(ping.event, 'ping');
      assert.equal(ping.status, 'delivered');
      assert.equal(ping.lastStatusCode, 200);

      // Removed: no further deliveries.
      await tenant.admin.deleteWebhook(webhook.id);
      await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('after')));
      await sleep(1500);
      assert.equal(receiver.received.length, 7);
    } finally {
      await receiver.stop();
      await controller.dispose();
      await drop();
    }
  });

  test(`${store}: a receiver that fails three times gets the delivery on a retry, with backoff between attempts`, { timeout: 60_000, skip }, async () => {
    const { controller, drop } = await start();
    const receiver = await startWebhookReceiver();
    receiver.respond = (n) => (n < 3 ? 503 : 200);
    try {
      const tenant = await createTenant(controller, 'acme');
      const { webhook, secret } = await tenant.admin.createWebhook({ url: receiver.url, events: ['build.queued'] });
      await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
      const delivered = await eventually(async () => {
        const [d] = (await tenant.admin.webhookDeliveries(webhook.id)).deliveries;
        return d?.status === 'delivered' ? d : undefined;
      }, 20_000, 'the delivery to succeed');
      assert.equal(delivered.attempts, 4);
      assert.equal(delivered.lastStatusCode, 200);
      assert.equal(receiver.received.length, 4);
      const bodies = new Set(receiver.received.map((r) => r.body));
      assert.equal(bodies.size, 1, 'every attempt sends the same body');
      for (const r of receiver.received) assert.ok(verifyWebhookSignature(secret, String(r.headers[WEBHOOK_SIGNATURE_HEADER]), r.body));
      const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
      // base 100 ms doubling with ±10 % jitter: ≥ 90, 180, 360 ms
      assert.ok(gaps[0]! >= 85 && gaps[1]! >= 170 && gaps[2]! >= 340, `backoff between attempts: ${gaps.join(', ')} ms`);
    } finally {
      await receiver.stop();
      await controller.dispose();
      await drop();
    }
  });

  test(`${store}: worker.online at a worker's first contact, worker.offline once it is unseen for the online window`, { timeout: 60_000, skip }, async () => {
    const { controller, drop } = await start();
    const receiver = await startWebhookReceiver();
    try {
      const tenant = await createTenant(controller, 'acme');
      const { secret } = await tenant.admin.createWebhook({ url: receiver.url, events: ['worker.online', 'worker.offline'] });
      const worker = await enrollWorker(tenant.admin, { name: 'mac-1', platforms: ['ios'] });
      await worker.client.claim(100);
      await eventually(async () => receiver.received.length >= 1, 10_000, 'worker.online');
      // FAST_TIMINGS: online window = max(claim wait 2 s, heartbeat) + lease 1.5 s
      await eventually(async () => receiver.received.length >= 2, 15_000, 'worker.offline');
      await sleep(1000);
      assert.deepEqual(events(receiver.received), ['worker.online', 'worker.offline']);
      for (const r of receiver.received) {
        assert.ok(verifyWebhookSignature(secret, String(r.headers[WEBHOOK_SIGNATURE_HEADER]), r.body));
        const payload = JSON.parse(r.body) as { data: { worker: { id: string; name: string } } };
        assert.equal(payload.data.worker.id, worker.workerId);
        assert.equal(payload.data.worker.name, 'mac-1');
      }
    } finally {
      await receiver.stop();
      await controller.dispose();
      await drop();
    }
  });

  test(`${store}: kill -9 after the state change and before any delivery still delivers after the restart`, { timeout: 60_000, skip }, async () => {
    const { controller, drop } = await start();
    const receiver = await startWebhookReceiver({ listening: false }); // down: nothing can be delivered before the kill
    try {
      const tenant = await createTenant(controller, 'acme');
      await tenant.admin.createWebhook({ url: receiver.url, events: ['build.queued'] });
      const build = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
      await controller.kill('SIGKILL');
      await receiver.listen();
      await controller.restart();
      // A send in progress at the kill holds its row for the claim lease (15 s) before it is due again.
      await eventually(async () => receiver.received.length >= 1, 40_000, 'the delivery after the restart');
      await sleep(1000);
      assert.equal(receiver.received.length, 1);
      const payload = JSON.parse(receiver.received[0]!.body) as WebhookPayload & { data: { build: { id: string } } };
      assert.equal(payload.type, 'build.queued');
      assert.equal(payload.data.build.id, build.id);
    } finally {
      await receiver.stop();
      await controller.dispose();
      await drop();
    }
  });
}

test('targets on loopback or private addresses are refused unless the operator allows them', { timeout: 60_000 }, async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme');
    for (const url of ['http://127.0.0.1:9/hook', 'http://localhost:9/hook', 'http://10.1.2.3/x', 'http://[::1]:9/', 'http://169.254.169.254/latest', 'http://[::ffff:127.0.0.1]/']) {
      await assert.rejects(tenant.admin.createWebhook({ url }), (e: unknown) => e instanceof ApiError && e.code === 'WEBHOOK_TARGET_REFUSED', url);
    }
    await assert.rejects(tenant.admin.createWebhook({ url: 'http://user:pw@example.com/' }), (e: unknown) => e instanceof ApiError && e.code === 'VALIDATION_FAILED');
    assert.deepEqual((await tenant.admin.listWebhooks()).webhooks, []);
  } finally {
    await controller.dispose();
  }
});

test('a name that resolves to loopback at delivery time is refused at the connection (DNS rebinding)', { timeout: 60_000 }, async () => {
  const controller = await startControllerProcess({ env: WEBHOOK_ENV });
  const receiver = await startWebhookReceiver();
  try {
    const tenant = await createTenant(controller, 'acme');
    // Added while private targets were allowed; `localhost` stands for a name whose address changed since.
    const { webhook } = await tenant.admin.createWebhook({ url: `http://localhost:${receiver.port}/hook`, events: ['build.queued'] });
    await controller.kill('SIGTERM');
    await controller.restart({ BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '0' });
    await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz()));
    const failed = await eventually(async () => {
      const [d] = (await tenant.admin.webhookDeliveries(webhook.id)).deliveries;
      return d && d.attempts >= 1 && d.lastError ? d : undefined;
    }, 10_000, 'a refused attempt');
    assert.match(failed.lastError!, /loopback, private or link-local/);
    assert.equal(failed.lastStatusCode, null);
    assert.equal(receiver.received.length, 0);
  } finally {
    await receiver.stop();
    await controller.dispose();
  }
});
