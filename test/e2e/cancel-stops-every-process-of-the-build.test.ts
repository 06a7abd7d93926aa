/**
 * Cancel mid-build: the next heartbeat reply says stop, the worker stops the whole process tree
 * (background jobs and orphaned grandchildren included), and the build ends canceled. The
 * build's processes are found by a marker variable in their environment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestController } from '../helpers/controller.js';
import { processesWithEnv } from '../helpers/processes.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { waitFor } from '../helpers/wait.js';
import { bwrapSkipper } from '../helpers/bwrap.js';

/** Slack on top of the heartbeat interval for the request itself and the kernel reaping the processes. */
const TEARDOWN_SLACK_MS = 700;

const bwrap = await bwrapSkipper();

for (const sandbox of ['none', 'bwrap'] as const) {
  const skip = sandbox === 'bwrap' ? bwrap.skip() : false;
  void test(`cancel stops every process of the build within a heartbeat interval (${sandbox} executor)`, { skip }, async (t) => {
    const controller = await startTestController(t, { timing: { heartbeatIntervalMs: 300 } });
    const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), sandbox });
    await waitForWorkerOnline(controller.admin, worker);

    const marker = randomUUID();
    const project = makeFixtureProject(t, [
      {
        id: 'busy',
        name: 'Busy with children',
        // A background job, an orphaned grandchild (its parent subshell exits) and a foreground sleep.
        command: 'sleep 300 & (sleep 301 &) ; echo started; sleep 302; echo never',
      },
      { id: 'later', name: 'Never reached', command: 'echo later' },
    ]);
    const build = await submitBuild(controller.admin, project, { env: { BUILD_MARKER: marker } });
    await waitFor(async () => outputLines(await readAllLogs(controller.admin, build.id)).includes('started'), { what: 'the step to start' });
    await waitFor(() => processesWithEnv('BUILD_MARKER', marker).length >= 3, { what: "the build's processes to be visible" });

    const canceledAt = Date.now();
    await controller.admin.cancelBuild(build.id);
    const deadline = controller.timing.heartbeatIntervalMs + TEARDOWN_SLACK_MS;
    await waitFor(() => processesWithEnv('BUILD_MARKER', marker).length === 0, { timeoutMs: deadline, intervalMs: 20, what: 'every process of the build to be gone' }).catch(
      (err: Error) => {
        throw new Error(`${err.message}: still alive ${processesWithEnv('BUILD_MARKER', marker).join(', ')}\n${worker.output()}`);
      },
    );
    const goneAfterMs = Date.now() - canceledAt;
    assert.ok(goneAfterMs <= deadline, `gone after ${goneAfterMs} ms`);

    const ended = await waitForStatus(controller.admin, build.id, 'canceled');
    // The worker reports the attempt canceled once its cleanup is done.
    await waitFor(async () => (await controller.admin.getBuild(build.id)).attempts?.[0]?.status === 'canceled', { what: 'the attempt to end canceled' });
    assert.equal(ended.status, 'canceled');
    const entries = await readAllLogs(controller.admin, build.id);
    const busyEnd = entries.find((e) => e.marker === 'END_PHASE' && e.phase === 'busy');
    assert.equal(busyEnd?.result, 'canceled');
    assert.ok(!outputLines(entries).includes('never') && !outputLines(entries).includes('later'));

    // The slot is free again: the next build runs.
    const next = await submitBuild(controller.admin, makeFixtureProject(t, ['echo next build']));
    assert.equal((await waitForStatus(controller.admin, next.id, ['succeeded', 'failed'])).status, 'succeeded');
  });
}
