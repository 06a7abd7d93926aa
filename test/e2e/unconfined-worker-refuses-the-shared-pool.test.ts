/**
 * A worker without a sandbox (executor none) that was given a shared-pool enrollment token refuses
 * to serve: it stops with an error saying why and how to fix it, instead of running other orgs'
 * builds unconfined. Control: the same worker with its org's token comes online.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { waitFor } from '../helpers/wait.js';

void test('an unconfined worker enrolled for the shared pool exits with what to do', async (t) => {
  const controller = await startTestController(t);
  const shared = await controller.admin.createEnrollmentToken('shared-pool', 'shared');
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: shared.secret, sandbox: 'none' });
  await waitFor(() => worker.child.exitCode !== null, { timeoutMs: 30_000, what: 'the worker to exit' }).catch((err: Error) => {
    throw new Error(`${err.message}\n${worker.output()}`);
  });
  assert.equal(worker.child.exitCode, 1);
  assert.match(worker.output(), /refusing to serve: this worker runs builds without a sandbox/);
  assert.match(worker.output(), /apt-get install bubblewrap/);
  assert.deepEqual((await controller.admin.listWorkers()).workers.filter((w) => w.name === worker.name), []);

  // Control: with an org enrollment token the same unconfined worker serves its own org.
  const own = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), sandbox: 'none' });
  await waitForWorkerOnline(controller.admin, own);
});
