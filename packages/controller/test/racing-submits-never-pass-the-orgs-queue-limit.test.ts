/**
 * BUILDMESH_ORG_MAX_QUEUED is exact under racing submits: on PostgreSQL the count and the insert run under
 * the org's queue lock (connections of any replica wait for each other), on SQLite under the one writer.
 * Forty submits at once against a limit of 5 store exactly 5 builds; the rest answer 429 ORG_QUEUE_FULL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ApiError } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, uploadedTinySource } from './helpers/fixtures.js';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: forty racing submits against a queue limit of 5 store exactly 5 builds`, { timeout: 120_000, skip: store === 'postgres' ? pgSkip : false }, async () => {
    const db = store === 'postgres' ? await createTestDatabase() : undefined;
    const pg: Record<string, string> = db ? { BUILDMESH_DATABASE_URL: db.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } : {};
    const controller = await startControllerProcess({ env: { ...pg, BUILDMESH_ORG_MAX_QUEUED: '5' } });
    try {
      const alpha = await createTenant(controller, 'alpha');
      const blob = await uploadedTinySource(alpha); // one upload, then JSON submits only
      const outcomes = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          alpha.member.createBuildFromBlob({ spec: buildSpec({ message: `r${i}` }), source: blob }).then(
            () => 'queued',
            (err: unknown) => (err instanceof ApiError ? err.code : String(err)),
          ),
        ),
      );
      assert.equal(outcomes.filter((o) => o === 'queued').length, 5, `answers: ${outcomes.join(', ')}`);
      assert.equal(outcomes.filter((o) => o === 'ORG_QUEUE_FULL').length, 35);
      assert.equal((await alpha.member.listBuilds({ status: 'queued' })).builds.length, 5, 'the store holds exactly the limit');
    } finally {
      await controller.dispose();
      await db?.drop();
    }
  });
}
