/**
 * SIGTERM drains a worker: it stops claiming, lets the running build finish and report, then
 * exits 0. A second signal hands running builds back instead: their processes are stopped, the
 * build returns to the queue for another worker, and the worker exits at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestController } from '../helpers/controller.js';
import { processesWithEnv } from '../helpers/processes.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { delay, waitFor } from '../helpers/wait.js';

void test('SIGTERM drains: the running build finishes and reports, nothing new is claimed, the worker exits 0', async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const running = await submitBuild(controller.admin, makeFixtureProject(t, [{ id: 'work', command: 'echo started; sleep 2; echo finished' }]));
  await waitFor(async () => outputLines(await readAllLogs(controller.admin, running.id)).includes('started'), { what: 'the build to start' });
  const waiting = await submitBuild(controller.admin, makeFixtureProject(t, ['echo should wait']));

  worker.kill('SIGTERM');
  const exitCode = await worker.exited;
  assert.equal(exitCode, 0, worker.output());
  // By the time the worker has exited, the drained build has finished and been reported.
  const done = await controller.admin.getBuild(running.id);
  assert.equal(done.status, 'succeeded', JSON.stringify(done));
  assert.ok(outputLines(await readAllLogs(controller.admin, running.id)).includes('finished'));
  const queued = await controller.admin.getBuild(waiting.id);
  assert.equal(queued.status, 'queued');
  assert.equal(queued.attemptCount, 0);
});

void test('a second SIGTERM hands the running build back: processes stopped, build requeued, worker gone', async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const marker = randomUUID();
  const build = await submitBuild(controller.admin, makeFixtureProject(t, [{ id: 'long', command: 'echo started; sleep 120' }]), {
    env: { BUILD_MARKER: marker },
  });
  await waitFor(async () => outputLines(await readAllLogs(controller.admin, build.id)).includes('started'), { what: 'the build to start' });

  worker.kill('SIGTERM');
  await delay(200);
  worker.kill('SIGTERM');
  const stoppedAt = Date.now();
  assert.equal(await worker.exited, 0, worker.output());
  assert.ok(Date.now() - stoppedAt < 8000, 'the worker did not wait for the build');
  assert.deepEqual(processesWithEnv('BUILD_MARKER', marker), []);

  const requeued = await waitForStatus(controller.admin, build.id, 'queued', 5000);
  assert.equal(requeued.attempts?.[0]?.status, 'canceled', JSON.stringify(requeued.attempts));
  // Another worker takes it from there.
  const next = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken('second') });
  await waitForWorkerOnline(controller.admin, next);
  await waitFor(async () => (await controller.admin.getBuild(build.id)).attempts?.length === 2, { what: 'a second attempt' });
  await controller.admin.cancelBuild(build.id);
});
