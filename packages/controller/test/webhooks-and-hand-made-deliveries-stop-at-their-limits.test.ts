/**
 * An org has at most MAX_WEBHOOKS_PER_ORG webhooks, and a webhook with MAX_PENDING_FOR_MANUAL_DELIVERY
 * deliveries waiting takes no redelivery or test ping by hand: a script cannot grow the webhook tables
 * (and the deliverer's claims) without bound. Refusals are LIMIT_REACHED and write nothing; events of
 * builds are never refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, MAX_PENDING_FOR_MANUAL_DELIVERY, MAX_WEBHOOKS_PER_ORG } from '@buildmesh/protocol';
import { newId } from '../src/ids.js';
import { openSqliteStore } from '../src/store/sqlite.js';

const limitReached = (err: unknown) => err instanceof ApiError && err.code === 'LIMIT_REACHED';

test('an org’s webhook past the limit, and a redelivery or ping past the waiting limit, are refused and write nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-webhook-limits-'));
  const store = await openSqliteStore(join(dir, 'controller.db'));
  try {
    const acme = await store.createOrg({ id: newId('org'), name: 'acme' });
    const other = await store.createOrg({ id: newId('org'), name: 'other' });
    const hook = (orgId: string) =>
      store.insertWebhook({ id: newId('whk'), orgId, projectId: null, projectName: null, url: 'https://hooks.example/x', events: ['build.queued'], secretSealed: Buffer.alloc(32) });
    const hooks = [];
    for (let i = 0; i < MAX_WEBHOOKS_PER_ORG; i++) hooks.push(await hook(acme.id));
    await assert.rejects(hook(acme.id), limitReached);
    assert.equal((await store.listWebhooks(acme.id)).length, MAX_WEBHOOKS_PER_ORG, 'the refused webhook was not written');
    await hook(other.id); // another org's count is its own

    const target = hooks[0]!;
    const first = await store.enqueuePing(acme.id, target.id);
    for (let i = 1; i < MAX_PENDING_FOR_MANUAL_DELIVERY; i++) assert.ok(await store.redeliver(acme.id, target.id, first));
    await assert.rejects(store.redeliver(acme.id, target.id, first), limitReached);
    assert.equal((await store.listDeliveries(acme.id, target.id, 5000)).length, MAX_PENDING_FOR_MANUAL_DELIVERY, 'the refused redelivery was not written');
    // The pending ping is answered as before (no new row); a ping of another webhook is its own.
    assert.equal(await store.enqueuePing(acme.id, target.id), first);
    assert.ok(await store.enqueuePing(acme.id, hooks[1]!.id));
    // The backlogged webhook is still served, oldest first, beside the others.
    const claimed = await store.claimDueDeliveries({ limit: 32, leaseMs: 15_000, busyWebhooks: new Set(), inFlightByOrg: new Map(), perOrg: 8 });
    assert.deepEqual(new Set(claimed.map((d) => d.webhookId)), new Set([target.id, hooks[1]!.id]), 'one delivery of each webhook with something due');
    assert.equal(claimed.find((d) => d.webhookId === target.id)?.id, first, 'the backlogged webhook’s oldest delivery first');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
