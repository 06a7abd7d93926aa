/**
 * BUILDMESH_ORG_MAX_SHARED_RUNNING holds under racing claims: twenty shared-pool workers claim at once
 * while one org has thirty builds queued and a limit of 2; exactly 2 of its builds run. On PostgreSQL the
 * count and the take run under the org's shared-pool lock (claims on any replica wait for each other), on
 * SQLite under the one writer. Another org's build is still handed out beside them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerOn } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, uploadedTinySource } from './helpers/fixtures.js';
import { pgSkip } from '../../../test/helpers/postgres.js';

for (const store of ['sqlite', 'postgres'] as const) {
  test(`${store}: twenty racing shared-pool claims run exactly the org's limit of 2`, { timeout: 120_000, skip: store === 'postgres' ? pgSkip : false }, async (t) => {
    const controller = await startControllerOn(store, t, { BUILDMESH_ORG_MAX_SHARED_RUNNING: '2' });
    const alpha = await createTenant(controller, 'alpha');
    const beta = await createTenant(controller, 'beta');
    const blob = await uploadedTinySource(alpha, beta);
    for (let i = 0; i < 30; i++) await alpha.member.createBuildFromBlob({ spec: buildSpec({ message: `a${i}` }), source: blob });
    const theirs = await beta.member.createBuildFromBlob({ spec: buildSpec({ message: 'b' }), source: blob });
    const workers = await Promise.all(Array.from({ length: 20 }, () => enrollWorker(controller.admin, { pool: 'shared', platforms: ['android'] })));

    const jobs = (await Promise.all(workers.map((w) => w.client.claim(500)))).filter((j) => j !== null);
    const alphaRunning = jobs.filter((j) => j.build.orgId === alpha.org.id).length;
    assert.equal(alphaRunning, 2, `alpha runs its limit, no more (${jobs.length} claims answered)`);
    assert.ok(jobs.some((j) => j.build.id === theirs.id), "beta's build is handed out beside them");
    assert.equal((await alpha.member.listBuilds({ status: 'running' })).builds.length, 2, 'the store agrees');
  });
}
