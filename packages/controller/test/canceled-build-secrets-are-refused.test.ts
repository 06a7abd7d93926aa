/**
 * Once a build is canceled, its attempt gets no secrets or signing credentials any more, even
 * while the lease still lives (the worker is stopping and runs its cleanup under that lease).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerProcess } from './helpers/controller-process.js';
import { createTenant, enrollWorker, buildSpec, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

test('a canceled build’s attempt is refused /secrets while its lease lives', async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme');
    await tenant.member.createProject('app');
    await tenant.member.setSecret('app', 'API_KEY', 'only-while-running');
    const worker = await enrollWorker(tenant.admin);
    const build = await tenant.member.createBuild(buildSpec(), streamOf(await tinyTarGz('cancel-secrets')), {
      credentials: { android: { keystore: { keystoreBase64: 'AAAA', keystorePassword: 'pw', keyAlias: 'key' } } },
    });
    const job = await worker.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    const attemptId = job.attempt.id;

    const running = await worker.client.attemptSecrets(attemptId);
    assert.equal(running.secrets.API_KEY, 'only-while-running', 'served while the build runs');
    assert.ok(running.credentials?.android);

    await tenant.member.cancelBuild(build.id);
    const beat = await worker.client.heartbeat(attemptId);
    assert.equal(beat.cancel, true, 'the lease still lives and says stop');
    await rejectsWith(worker.client.attemptSecrets(attemptId), 'CONFLICT', 'secrets and credentials after cancel');
    // The rest of the attempt still works under the lease: the worker reports the cancel.
    assert.equal((await worker.client.finish(attemptId, { outcome: 'canceled' })).buildStatus, 'canceled');
  } finally {
    await controller.dispose();
  }
});
