/**
 * MAX_WEBHOOKS_PER_ORG, MAX_PENDING_FOR_MANUAL_DELIVERY and one pending ping per webhook hold under racing requests on PostgreSQL too:
 * the count and the insert run under the webhook's (org's) advisory lock, so concurrent adds on a pool
 * of connections (or on several replicas) cannot each see the org below the limit and all insert.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, MAX_PENDING_FOR_MANUAL_DELIVERY, MAX_WEBHOOKS_PER_ORG } from '@buildmesh/protocol';
import { newId } from '../src/ids.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { createTestDatabase, pgSkip, type TestDatabase } from '../../../test/helpers/postgres.js';

let database: TestDatabase | undefined;
after(async () => database?.drop());

const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (err: unknown) => (err instanceof ApiError ? err.code : String(err)));

test('postgres: racing webhook adds, redeliveries and pings stop exactly at their limits', { skip: pgSkip, timeout: 120_000 }, async () => {
  database = await createTestDatabase();
  const store = await openPostgresStore(database.url, { poolSize: 16 });
  try {
    const acme = await store.createOrg({ id: newId('org'), name: 'acme' });
    const hook = () =>
      store.insertWebhook({ id: newId('whk'), orgId: acme.id, projectId: null, projectName: null, url: 'https://hooks.example/x', events: ['build.queued'], secretSealed: Buffer.alloc(32) });
    for (let i = 0; i < MAX_WEBHOOKS_PER_ORG - 2; i++) await hook();
    const adds = await Promise.all(Array.from({ length: 40 }, () => outcome(hook())));
    assert.equal(adds.filter((o) => o === 'ok').length, 2, `answers: ${adds.join(', ')}`);
    assert.equal((await store.listWebhooks(acme.id)).length, MAX_WEBHOOKS_PER_ORG);

    const [target, other] = await store.listWebhooks(acme.id);
    const pings = await Promise.all(Array.from({ length: 20 }, () => store.enqueuePing(acme.id, other!.id)));
    assert.equal(new Set(pings).size, 1, 'racing pings share the one pending ping');

    const first = await store.enqueuePing(acme.id, target!.id);
    for (let i = 1; i < MAX_PENDING_FOR_MANUAL_DELIVERY - 2; i++) await store.redeliver(acme.id, target!.id, first);
    const copies = await Promise.all(Array.from({ length: 40 }, () => outcome(store.redeliver(acme.id, target!.id, first))));
    assert.equal(copies.filter((o) => o === 'ok').length, 2, `answers: ${copies.join(', ')}`);
    assert.equal((await store.listDeliveries(acme.id, target!.id, 5000)).length, MAX_PENDING_FOR_MANUAL_DELIVERY);
  } finally {
    await store.close();
  }
});
