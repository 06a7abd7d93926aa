/**
 * As a-label-value-a-submit-accepts-never-stops-the-orgs-claims-on-postgres, for a lone surrogate:
 * label values now refuse control characters, but "x\ud800" passes, JSON.stringify writes it as the
 * escape \ud800, and the one-statement org claim's jsonb cast of the lane's labels refuses that
 * (22P02 "invalid input syntax for type json"): every claim of the org's workers on that platform
 * fails ("claim failed", the worker gets nothing) while the lane exists.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ApiError } from '@buildmesh/protocol';
import { createTestDatabase, pgSkip } from '../../../test/helpers/postgres.js';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

test('a label value with a lone surrogate never stops the org’s claims on PostgreSQL', { skip: pgSkip, timeout: 120_000 }, async (t) => {
  const database = await createTestDatabase();
  t.after(() => database.drop());
  const controller = await startControllerProcess({ env: { BUILDMESH_DATABASE_URL: database.url, BUILDMESH_ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
  t.after(() => controller.dispose());
  const tenant = await createTenant(controller, 'acme');
  const worker = await enrollWorker(tenant.admin, { platforms: ['android'] });
  const ordinary = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('ordinary')));

  // Either the submit is refused as bad input (a 4xx with a code), or it is queued and harms nothing.
  try {
    await tenant.member.createBuild(buildSpec({ labels: { pool: 'x\ud800' } }), streamOf(await tinyTarGz('lone-surrogate')));
  } catch (err) {
    assert.ok(err instanceof ApiError && err.status >= 400 && err.status < 500, `refused as bad input, not ${String(err)}`);
  }
  const job = await worker.client.claim(2000);
  assert.equal(job?.build.id, ordinary.id, `the worker still gets the ordinary build; controller said:\n${controller.output().slice(-1500)}`);
});
