/**
 * Attacker review: on PostgreSQL a build event's deliveries are inserted in the build's transaction after
 * it read the org's subscribed webhooks; a webhook deleted in between (its deletion of the deliveries does
 * not see the uncommitted insert) leaves a pending delivery of a gone webhook, which no claim reaches and
 * retention never deleted. An org submitting builds while adding and deleting webhooks grew the outbox
 * without bound. Such rows are garbage (claims start from the webhooks), so retention sweeps them, whatever
 * BUILDMESH_RETENTION_DAYS says, rather than every build event taking a lock on its webhooks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, uploadedTinySource } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

test(
  'postgres: deliveries a build event leaves to a webhook deleted meanwhile are swept by retention',
  { skip: pgSkip, timeout: 120_000 },
  async (t) => {
    const database = await createTestDatabase();
    t.after(() => database.drop());
    const controller = await startControllerProcess({ env: { BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64'), BUILDMESH_WEBHOOK_ALLOW_PRIVATE: '1', BUILDMESH_RETENTION_INTERVAL_MS: '1000', BUILDMESH_RETENTION_DAYS: '0' } });
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
    const orphans = async () =>
      (await client.query<{ n: number }>('select count(*)::int as n from webhook_deliveries d where not exists (select 1 from webhooks w where w.id = d.webhook_id)')).rows[0]!.n;
    try {
      // The retention loop runs every second here (also with retention days 0); give it a few rounds.
      let left = await orphans();
      for (let i = 0; i < 100 && left > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = await orphans();
      }
      assert.equal(left, 0, `${left} deliveries of deleted webhooks left`);
      const { rows } = await client.query<{ n: number }>('select count(*)::int as n from builds');
      assert.equal(rows[0]!.n, 15 * 8, 'every build was queued');
    } finally {
      await client.end();
    }
  },
);
