/**
 * The deliverer claims at most one delivery per webhook and a bounded share per org, reading the webhooks
 * with something due oldest first, a bounded number at a time. Orgs whose share is taken, however many
 * webhooks they have due (more than one scan reads), must not hide another org's due webhook: the scan
 * leaves such orgs, and webhooks already being sent to, out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newId } from '../src/ids.js';
import { openSqliteStore } from '../src/store/sqlite.js';

test('a claim reaches another org’s due webhook behind 600 due webhooks of orgs at their share', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-webhook-claims-'));
  const store = await openSqliteStore(join(dir, 'controller.db'));
  try {
    const evil = [];
    for (let i = 0; i < 12; i++) evil.push(await store.createOrg({ id: newId('org'), name: `evil-${i}` }));
    const acme = await store.createOrg({ id: newId('org'), name: 'acme' });
    const hook = (orgId: string, i: number) =>
      store.insertWebhook({ id: newId('whk'), orgId, projectId: null, projectName: null, url: `https://hooks.example/${i}`, events: ['build.queued'], secretSealed: Buffer.alloc(32) });
    const evilHooks = [];
    for (let i = 0; i < 600; i++) evilHooks.push(await hook(evil[i % 12]!.id, i)); // 50 each: the most an org may have
    for (const w of evilHooks) await store.enqueuePing(w.orgId, w.id);
    const acmeHook = await hook(acme.id, 600);
    await store.enqueuePing(acme.id, acmeHook.id); // the newest: behind all 600

    const claim = (inFlightByOrg: Map<string, number>, busyWebhooks = new Set<string>()) =>
      store.claimDueDeliveries({ limit: 32, leaseMs: 15_000, busyWebhooks, inFlightByOrg, perOrg: 8 });
    const first = await claim(new Map());
    assert.equal(first.length, 32);
    assert.ok(evil.every((o) => first.filter((d) => d.orgId === o.id).length <= 8), 'no flooding org gets more than its share');
    assert.ok(first.every((d, i) => first.findIndex((e) => e.webhookId === d.webhookId) === i), 'one delivery per webhook');
    const busy = new Set(first.map((d) => d.webhookId));
    const next = await claim(new Map(evil.map((o) => [o.id, 8])), busy);
    assert.deepEqual(next.map((d) => d.webhookId), [acmeHook.id], 'the other org is reached, the flooding ones wait for their share');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
