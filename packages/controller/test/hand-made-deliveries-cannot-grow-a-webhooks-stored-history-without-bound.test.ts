/**
 * A redelivery by hand is refused while the webhook has MAX_PENDING_FOR_MANUAL_DELIVERY waiting, and
 * it drops the webhook's ended deliveries beyond the newest MAX_ENDED_DELIVERIES_KEPT: a script that
 * redelivers up to the limit, lets a fast receiver take them, and does it again added a thousand rows
 * (each with the event's payload) per round, for ever (attacker review). Retention removes ended
 * deliveries older than BUILDMESH_RETENTION_DAYS, and never a pending one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MAX_PENDING_FOR_MANUAL_DELIVERY } from '@buildmesh/protocol';
import pino from 'pino';
import { idAtTime, newId } from '../src/ids.js';
import { FsBlobStore } from '../src/blobs/fs.js';
import { BlobPins } from '../src/blobs/pins.js';
import { runRetention } from '../src/scheduler/retention.js';
import { openSqliteStore } from '../src/store/sqlite.js';

const silent = pino({ level: 'silent' });

test(
  'rounds of redeliveries a receiver takes keep a webhook’s stored deliveries bounded',
  {
    timeout: 120_000,
  },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'buildmesh-webhook-history-'));
    const file = join(dir, 'controller.db');
    const store = await openSqliteStore(file);
    try {
      const acme = await store.createOrg({ id: newId('org'), name: 'acme' });
      const hook = await store.insertWebhook({ id: newId('whk'), orgId: acme.id, projectId: null, projectName: null, url: 'https://hooks.example/x', events: ['build.queued'], secretSealed: Buffer.alloc(32) });
      const first = await store.enqueuePing(acme.id, hook.id);
      for (let round = 0; round < 4; round++) {
        // The script: redeliver until refused…
        for (;;) {
          const copy = await store.redeliver(acme.id, hook.id, first).catch(() => undefined);
          if (!copy) break;
        }
        // …and the (fast, the org's own) receiver takes every one.
        for (const d of await store.listDeliveries(acme.id, hook.id, 100_000)) {
          if (d.status === 'pending') await store.recordDeliveryAttempt(d.id, { ok: true, statusCode: 200, error: null, latencyMs: 1, retryAt: null });
        }
      }
      const db = new Database(file, { readonly: true });
      const { n } = db.prepare('select count(*) as n from webhook_deliveries where webhook_id = ?').get(hook.id) as { n: number };
      db.close();
      assert.ok(n <= 2 * MAX_PENDING_FOR_MANUAL_DELIVERY, `${n} deliveries stored for one webhook after 4 rounds`);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('retention deletes ended deliveries older than the retention days and keeps pending ones', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-webhook-retention-'));
  const file = join(dir, 'controller.db');
  const store = await openSqliteStore(file);
  try {
    const acme = await store.createOrg({ id: newId('org'), name: 'acme' });
    const hook = await store.insertWebhook({ id: newId('whk'), orgId: acme.id, projectId: null, projectName: null, url: 'https://hooks.example/x', events: ['build.queued'], secretSealed: Buffer.alloc(32) });
    const ping = await store.enqueuePing(acme.id, hook.id);
    const delivered = (await store.redeliver(acme.id, hook.id, ping))!.id;
    const failed = (await store.redeliver(acme.id, hook.id, ping))!.id;
    const recent = (await store.redeliver(acme.id, hook.id, ping))!.id;
    await store.recordDeliveryAttempt(delivered, { ok: true, statusCode: 200, error: null, latencyMs: 1, retryAt: null });
    await store.recordDeliveryAttempt(failed, { ok: false, statusCode: 500, error: 'gave up', latencyMs: 1, retryAt: null });
    await store.recordDeliveryAttempt(recent, { ok: true, statusCode: 200, error: null, latencyMs: 1, retryAt: null });
    // Forty days old: their ids carry the time they were made (ids.ts), as the ping's does.
    const fortyDaysAgo = idAtTime('dlv', Date.now() - 40 * 86_400_000).slice(4, 14);
    const old = (id: string) => `dlv_${fortyDaysAgo}${id.slice(14)}`;
    const db = new Database(file);
    for (const id of [ping, delivered, failed]) db.prepare('update webhook_deliveries set id = ? where id = ?').run(old(id), id);
    db.close();

    await runRetention(store, await FsBlobStore.open(join(dir, 'blobs')), new BlobPins(), 30, silent);
    const left = (await store.listDeliveries(acme.id, hook.id, 100)).map((d) => d.id).sort();
    assert.deepEqual(left, [old(ping), recent].sort(), 'the old pending ping and the recent delivery stay; the old ended ones go');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
