/**
 * Attacker review: in the shared pool priority is compared across orgs before fairness (docs/operations.md,
 * "Fair sharing of the shared pool"), and any member may submit at MAX_PRIORITY. So an org that marks every
 * build MAX_PRIORITY takes every slot that frees, however many it already runs, and another org's build at
 * the default priority never starts while that queue lasts (unless BUILDMESH_ORG_MAX_SHARED_RUNNING is set).
 * What must hold: an org's priorities order its own builds; they cannot keep another org's build out of the
 * shared pool for ever. Left as todo: it contradicts the tested "priority before fairness" rule, so the
 * choice (priority within an org only, or a cap on cross-org priority) is the lead's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PRIORITY } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';

test(
  'sqlite: an org whose every build is MAX_PRIORITY does not keep another org’s build out of the shared pool',
  { timeout: 120_000, todo: 'priority is compared across orgs before fairness (tested as intended in shared-pool-shares-fairly-between-orgs); needs a design decision' },
  async () => {
    const controller = await startControllerProcess();
    try {
      const mallory = await createTenant(controller, 'mallory');
      const victim = await createTenant(controller, 'victim');
      const worker = await enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] });
      const source = await tinyTarGz();
      for (let i = 0; i < 6; i++) await mallory.member.createBuild(buildSpec({ priority: MAX_PRIORITY, message: `m${i}` }), streamOf(source));
      const theirs = await victim.member.createBuild(buildSpec({ message: 'v' }), streamOf(source));
      const started: string[] = [];
      for (let slot = 0; slot < 5; slot++) {
        const job = await worker.client.claim(2000);
        assert.ok(job);
        started.push(job.build.id);
        if (job.build.id === theirs.id) break;
        await worker.client.finish(job.attempt.id, { outcome: 'succeeded' });
      }
      assert.ok(started.includes(theirs.id), `the victim's build never started in ${started.length} freed slots (all went to the MAX_PRIORITY org)`);
    } finally {
      await controller.dispose();
    }
  },
);
