/**
 * The controller frozen (SIGSTOP) for longer than the lease: the worker cannot renew it, so once
 * the TTL has passed on its own clock it stops the build by itself (another worker may own it by
 * now) — before the controller is even back — and reports nothing. Resumed, the controller
 * requeues the build and the second attempt succeeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, submitBuild, waitForStatus } from '../helpers/builds.js';
import { processesWithEnv } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

void test("the lease running out on the worker's clock stops the build while the controller is frozen", async (t) => {
  const controller = await startTestController(t, { timing: { heartbeatIntervalMs: 300, leaseTtlMs: 2500 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), sandbox: 'none' });
  await waitForWorkerOnline(controller.admin, worker);

  const marker = randomUUID();
  const project = makeFixtureProject(t, [{ id: 'work', name: 'Work', command: 'if [ "$BUILDMESH_ATTEMPT" = 1 ]; then sleep 120; fi; echo done' }]);
  const build = await submitBuild(controller.admin, project, { env: { BUILD_MARKER: marker } });
  await waitFor(() => processesWithEnv('BUILD_MARKER', marker).length > 0, { timeoutMs: 30_000, what: 'the first attempt to run' });

  controller.process.kill('SIGSTOP');
  const frozenAt = Date.now();
  try {
    // Lease (2.5 s) + stop grace: the worker ends the attempt without hearing from the controller.
    await waitFor(() => processesWithEnv('BUILD_MARKER', marker).length === 0, { timeoutMs: 15_000, intervalMs: 100, what: 'the build to be stopped' }).catch((err: Error) => {
      throw new Error(`${err.message}\n${worker.output().slice(-3000)}`);
    });
    assert.ok(Date.now() - frozenAt >= 2000, 'not stopped before the lease could have run out');
    assert.match(worker.output(), /no heartbeat was accepted within the lease/);
  } finally {
    controller.process.kill('SIGCONT');
  }

  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
  assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
  assert.deepEqual(
    ended.attempts?.map((a) => a.status),
    ['lost', 'succeeded'],
  );
});
