/**
 * A redelivery by hand is refused while the webhook has MAX_PENDING_FOR_MANUAL_DELIVERY waiting, so
 * "a script cannot grow the webhook tables without bound". But the count is of waiting deliveries
 * only, and delivered or given-up rows are never removed (only deleting the webhook removes them):
 * a script that redelivers up to the limit, lets a fast receiver take them, and does it again adds
 * a thousand rows (each with the event's payload) per round, for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MAX_PENDING_FOR_MANUAL_DELIVERY } from '@buildmesh/protocol';
import { newId } from '../src/ids.js';
import { openSqliteStore } from '../src/store/sqlite.js';

test(
  'rounds of redeliveries a receiver takes keep a webhook’s stored deliveries bounded',
  {
    todo: 'webhook_deliveries rows that are delivered or failed are kept for ever; the manual-delivery limit counts only pending ones, so it bounds the claims, not the table. Wanted: a retention for ended deliveries (age or a count per webhook) or a limit on redeliveries per webhook per period.',
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
