/**
 * Tenancy of the webhook store itself (not only of its routes): another org's webhook id, delivery id,
 * or a mix of one's own and the other's, finds nothing, writes nothing and prunes nothing — a redelivery,
 * a ping, a delivery list or a delete by the wrong org leaves the owner's webhook exactly as it was.
 * Run on SQLite and on PostgreSQL.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError } from '@buildmesh/protocol';
import { newId } from '../src/ids.js';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';

let database: TestDatabase | undefined;
after(async () => database?.drop());

async function attack(store: Store): Promise<void> {
  const victim = await store.createOrg({ id: newId('org'), name: 'victim' });
  const mallory = await store.createOrg({ id: newId('org'), name: 'mallory' });
  const hook = (orgId: string) =>
    store.insertWebhook({ id: newId('whk'), orgId, projectId: null, projectName: null, url: 'https://hooks.example/x', events: ['build.queued'], secretSealed: Buffer.alloc(32) });
  const v = await hook(victim.id);
  const m = await hook(mallory.id);
  const vPing = await store.enqueuePing(victim.id, v.id);
  await store.recordDeliveryAttempt(vPing, { ok: true, statusCode: 200, error: null, latencyMs: 1, retryAt: null });
  const vCopy = (await store.redeliver(victim.id, v.id, vPing))!.id;
  const mPing = await store.enqueuePing(mallory.id, m.id);
  const before = await store.listDeliveries(victim.id, v.id, 100);
  assert.deepEqual(before.map((d) => d.id).sort(), [vPing, vCopy].sort());

  assert.equal(await store.redeliver(mallory.id, v.id, vPing), undefined, 'the victim’s webhook and delivery');
  assert.equal(await store.redeliver(mallory.id, m.id, vPing), undefined, 'own webhook, the victim’s delivery');
  assert.equal(await store.redeliver(mallory.id, v.id, mPing), undefined, 'the victim’s webhook, own delivery');
  await assert.rejects(store.enqueuePing(mallory.id, v.id), (err) => err instanceof ApiError && err.code === 'NOT_FOUND', 'a ping of the victim’s webhook');
  assert.deepEqual(await store.listDeliveries(mallory.id, v.id, 100), []);
  assert.equal(await store.getDelivery(mallory.id, v.id, vPing), undefined);
  assert.equal(await store.getDelivery(mallory.id, m.id, vPing), undefined);
  assert.equal(await store.deleteWebhook(mallory.id, v.id), false);

  assert.deepEqual(await store.listDeliveries(victim.id, v.id, 100), before, 'the victim’s deliveries are as they were');
  assert.ok(await store.getWebhook(victim.id, v.id));
  // Nothing reached the victim's receiver either: the only due deliveries are each org's own.
  const claimed = await store.claimDueDeliveries({ limit: 32, leaseMs: 15_000, busyWebhooks: new Set(), inFlightByOrg: new Map(), perOrg: 8 });
  assert.deepEqual(claimed.map((d) => [d.orgId, d.webhookId]).sort(), [[victim.id, v.id], [mallory.id, m.id]].sort());
}

test('sqlite: another org’s webhook and delivery ids find, write and prune nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-webhook-tenancy-'));
  const store = await openSqliteStore(join(dir, 'controller.db'));
  try {
    await attack(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('postgres: another org’s webhook and delivery ids find, write and prune nothing', { skip: pgSkip, timeout: 60_000 }, async () => {
  database = await createTestDatabase();
  const store = await openPostgresStore(database.url);
  try {
    await attack(store);
  } finally {
    await store.close();
  }
});
