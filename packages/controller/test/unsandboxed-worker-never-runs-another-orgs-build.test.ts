/**
 * Unconfined never crosses a tenant: a worker whose executor is `none` serves only its own org. The
 * shared pool refuses it at enrollment, at hello and at claim (403 SANDBOX_REQUIRED), and an org
 * worker never receives another org's build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Capabilities } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

test('a none worker of org A never gets org B’s build; the shared pool refuses unconfined workers', async () => {
  const controller = await startControllerProcess();
  try {
    const acme = await createTenant(controller, 'acme');
    const globex = await createTenant(controller, 'globex');

    // An org worker without a sandbox: allowed, for its own org only.
    const acmeNone = await enrollWorker(acme.admin, { name: 'acme-none', executor: 'none' });
    const foreign = await globex.member.createBuild(buildSpec({ project: 'globex-app' }), streamOf(await tinyTarGz('globex')));
    assert.equal(await acmeNone.client.claim(300), null, 'org B’s build never reaches org A’s unconfined worker');
    const own = await acme.member.createBuild(buildSpec(), streamOf(await tinyTarGz('acme')));
    const job = await acmeNone.client.claim(2000);
    assert.equal(job?.build.id, own.id, 'it serves its own org');
    assert.equal((await globex.reader.getBuild(foreign.id)).status, 'queued', 'org B’s build is still waiting');

    // Shared pool: an unconfined (or silent) worker is refused at enrollment, and nothing is stored.
    const before = (await globex.reader.listWorkers()).workers.length;
    const sharedToken = await controller.admin.createEnrollmentToken('shared-pool', 'shared');
    const enroller = controller.admin.withToken(sharedToken.secret);
    const caps: Capabilities = { name: 'shared-none', platforms: ['android'], labels: {}, concurrency: 1, version: 'test' };
    await rejectsWith(enroller.enroll({ ...caps, executor: 'none' }), 'SANDBOX_REQUIRED', 'executor none');
    await rejectsWith(enroller.enroll(caps), 'SANDBOX_REQUIRED', 'executor not reported counts as none');
    assert.equal((await globex.reader.listWorkers()).workers.length, before, 'a refused enrollment stores no worker');

    // A shared worker that loses its sandbox (restart with a fallback) is refused at hello, then at every claim.
    const shared = await enrollWorker(controller.admin, { name: 'shared-bwrap', pool: 'shared', platforms: ['android'] });
    await rejectsWith(shared.client.hello({ ...shared.capabilities, executor: 'none' }), 'SANDBOX_REQUIRED', 'hello without a sandbox');
    await rejectsWith(shared.client.claim(300), 'SANDBOX_REQUIRED', 'claim after the sandbox was lost');
    assert.equal((await globex.reader.getBuild(foreign.id)).status, 'queued', 'still nobody ran org B’s build');

    // With its sandbox back, the shared worker serves every org again.
    await shared.client.hello({ ...shared.capabilities, executor: 'bwrap' });
    const sharedJob = await shared.client.claim(2000);
    assert.equal(sharedJob?.build.id, foreign.id, 'a confined shared worker takes org B’s build');
  } finally {
    await controller.dispose();
  }
});
