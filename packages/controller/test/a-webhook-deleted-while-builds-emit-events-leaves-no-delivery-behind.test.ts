/**
 * Attacker review: on PostgreSQL a build event's deliveries are inserted in the build's transaction after
 * it read the org's subscribed webhooks; a webhook deleted in between (its deletion of the deliveries does
 * not see the uncommitted insert) leaves a pending delivery of a gone webhook, which no claim reaches and
 * retention never deletes. An org submitting builds while adding and deleting webhooks grows the outbox
 * without bound. Todo: the fix (a key-share lock on the webhooks read, or a foreign key) touches the hot
 * path of every build event and wants a benchmark.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, uploadedTinySource } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

test(
  'postgres: a webhook deleted while builds emit its events leaves no pending delivery behind',
  { skip: pgSkip, timeout: 120_000, todo: 'build events racing a webhook delete leave orphan pending deliveries; the fix is on every build event’s path' },
  async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const controller = await startControllerProcess({ env: { BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1' } });
    t.after(() => controller.dispose());
    const mallory = await createTenant(controller, 'mallory');
    const source = await uploadedTinySource(mallory);
    for (let round = 0; round < 15; round++) {
      const hook = await mallory.admin.createWebhook({ url: 'https://hooks.example/x', events: ['build.queued'] });
      await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => mallory.member.createBuildFromBlob({ spec: buildSpec({ message: `r${round}-${i}` }), source })),
        new Promise((resolve) => setTimeout(resolve, 5)).then(() => mallory.admin.deleteWebhook(hook.webhook.id)),
      ]);
    }
    const client = new pg.Client(database.url);
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from webhook_deliveries d where not exists (select 1 from webhooks w where w.id = d.webhook_id)');
      assert.equal(rows[0]!.n, 0, `${rows[0]!.n} pending deliveries of deleted webhooks`);
    } finally {
      await client.end();
    }
  },
);
