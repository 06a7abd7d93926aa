/**
 * kill -9 of the worker running a build: its lease lapses, the build is requeued, and a second
 * worker takes it within the lease timeout and finishes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { waitFor } from '../helpers/wait.js';

void test('a worker killed mid-build: the build is requeued to another worker within the lease timeout and succeeds', async (t) => {
  const controller = await startTestController(t, { timing: { heartbeatIntervalMs: 300, leaseTtlMs: 2500 } });
  const token = await controller.enrollmentToken();
  const first = startTestWorker(t, { url: controller.url, enrollmentToken: token, name: 'first' });
  await waitForWorkerOnline(controller.admin, first);

  const project = makeFixtureProject(t, [
    // The first attempt would run for a minute: only the kill ends it.
    {
      id: 'work',
      name: 'Work for a while',
      command: 'echo "attempt $BUILDMESH_ATTEMPT started"; if [ "$BUILDMESH_ATTEMPT" = 1 ]; then sleep 60; fi; echo "attempt $BUILDMESH_ATTEMPT finished"',
    },
  ]);
  const build = await submitBuild(controller.admin, project);
  await waitFor(async () => outputLines(await readAllLogs(controller.admin, build.id)).includes('attempt 1 started'), { what: 'attempt 1 to start' });

  // The second worker comes up only now, so the first one surely had the build.
  const second = startTestWorker(t, { url: controller.url, enrollmentToken: token, name: 'second' });
  await waitForWorkerOnline(controller.admin, second);
  first.kill('SIGKILL');
  const killedAt = Date.now();

  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 30_000);
  assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
  const attempts = ended.attempts ?? [];
  assert.equal(attempts.length, 2, JSON.stringify(attempts));
  assert.equal(attempts[0]!.workerName, 'first');
  assert.equal(attempts[0]!.status, 'lost');
  assert.equal(attempts[1]!.workerName, 'second');
  assert.equal(attempts[1]!.status, 'succeeded');
  const requeuedAfterMs = Date.parse(attempts[1]!.startedAt) - killedAt;
  assert.ok(
    requeuedAfterMs <= controller.timing.leaseTtlMs + 1500,
    `the second attempt started ${requeuedAfterMs} ms after the kill (lease TTL ${controller.timing.leaseTtlMs} ms)`,
  );

  const lines = outputLines(await readAllLogs(controller.admin, build.id));
  assert.ok(lines.includes('attempt 2 started') && lines.includes('attempt 2 finished'), lines.join('\n'));
});
