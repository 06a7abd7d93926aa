/**
 * Attacker review: on PostgreSQL, redeliveries and pings racing the delete of their webhook committed after
 * the delete had removed the webhook's deliveries, leaving pending rows of a webhook that no longer exists:
 * no claim reaches them (claims start from the webhooks) and retention never deletes a pending row, so a
 * script creating, redelivering and deleting webhooks grew the outbox without bound (30 rounds of 12
 * redeliveries and 3 pings left 357 rows). The delete and a delivery by hand now share the webhook's lock.
 * Run on both stores.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '../src/ids.js';
import type { Store } from '../src/store/store.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';

let database: TestDatabase | undefined;
after(async () => database?.drop());

/** Rounds of racing redeliveries, pings and the delete of one webhook each; then no delivery of any is left. */
async function race(store: Store): Promise<void> {
  const org = await store.createOrg({ id: newId('org'), name: 'mallory' });
  const deleted: string[] = [];
  for (let round = 0; round < 30; round++) {
    const hook = await store.insertWebhook({ id: newId('whk'), orgId: org.id, projectId: null, projectName: null, url: 'https://hooks.example/x', events: ['build.queued'], secretSealed: Buffer.alloc(32) });
    const ping = await store.enqueuePing(org.id, hook.id);
    await Promise.all([
      ...Array.from({ length: 12 }, () => store.redeliver(org.id, hook.id, ping).catch(() => undefined)),
      store.deleteWebhook(org.id, hook.id),
      ...Array.from({ length: 3 }, () => store.enqueuePing(org.id, hook.id).catch(() => undefined)),
    ]);
    deleted.push(hook.id);
  }
  assert.deepEqual(await store.listWebhooks(org.id), []);
  const left = (await Promise.all(deleted.map((id) => store.listDeliveries(org.id, id, 1000)))).flat();
  assert.deepEqual(left.map((d) => `${d.webhookId} ${d.status}`), [], 'deliveries of deleted webhooks were left behind');
}

test('sqlite: a webhook deleted while redeliveries and pings race leaves no delivery behind', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-webhook-delete-race-'));
  const store = await openSqliteStore(join(dir, 'controller.db'));
  try {
    await race(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('postgres: a webhook deleted while redeliveries and pings race leaves no delivery behind', { skip: pgSkip, timeout: 120_000 }, async () => {
  database = await createTestDatabase();
  const store = await openPostgresStore(database.url, { poolSize: 16 });
  try {
    await race(store);
  } finally {
    await store.close();
  }
});
