/**
 * A step over its `timeout_minutes` and a build over its `timeoutSeconds` are both stopped and
 * end the build timed_out, with PHASE_TIMED_OUT (naming the phase) and BUILD_TIMED_OUT.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { waitFor } from '../helpers/wait.js';

void test('a step over its timeout and a build over its timeout both end timed_out with their own error code', async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), concurrency: 2 });
  await waitForWorkerOnline(controller.admin, worker);

  const phaseTimeout = await submitBuild(
    controller.admin,
    makeFixtureProject(t, [{ id: 'slow_step', name: 'Slow step', command: 'sleep 60', timeout_minutes: 0.02 }]),
  );
  const buildTimeout = await submitBuild(controller.admin, makeFixtureProject(t, [{ id: 'forever', command: 'sleep 120' }]), { timeoutSeconds: 10 });

  const phaseEnded = await waitForStatus(controller.admin, phaseTimeout.id, ['succeeded', 'failed', 'timed_out', 'canceled'], 20_000);
  assert.equal(phaseEnded.status, 'timed_out', JSON.stringify(phaseEnded));
  assert.equal(phaseEnded.error?.code, 'PHASE_TIMED_OUT');
  assert.equal(phaseEnded.error?.phase, 'slow_step');
  const end = (await readAllLogs(controller.admin, phaseTimeout.id)).find((e) => e.marker === 'END_PHASE' && e.phase === 'slow_step');
  assert.equal(end?.result, 'timed_out');
  assert.ok((end?.durationMs ?? 0) < 10_000, `the step was stopped after ${end?.durationMs} ms`);

  const buildEnded = await waitForStatus(controller.admin, buildTimeout.id, ['succeeded', 'failed', 'timed_out', 'canceled'], 30_000);
  assert.equal(buildEnded.status, 'timed_out', JSON.stringify(buildEnded));
  assert.equal(buildEnded.error?.code, 'BUILD_TIMED_OUT');
  // The worker stops the step and reports the attempt as timed out as well.
  await waitFor(async () => (await controller.admin.getBuild(buildTimeout.id)).attempts?.[0]?.status === 'timed_out', {
    what: 'the attempt to end timed_out',
  });
});
