/**
 * kill -9 of the controller while a build prints: the worker keeps building, keeps its log
 * batches and re-sends them by sequence number once the controller is back, and the build
 * completes with every line exactly once, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { delay, waitFor } from '../helpers/wait.js';

const TICKS = 80;

void test('the controller killed mid-build: the worker keeps building, the log is complete without duplicates', async (t) => {
  // A lease long enough to outlast the controller's restart (the controller's start takes seconds under tsx).
  const controller = await startTestController(t, { timing: { heartbeatIntervalMs: 300, leaseTtlMs: 15_000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const project = makeFixtureProject(t, [
    { id: 'ticks', name: 'Tick', command: `for i in $(seq 1 ${TICKS}); do echo "tick $i"; sleep 0.05; done` },
    { id: 'after', name: 'After', command: 'echo "after the restart"' },
  ]);
  const build = await submitBuild(controller.admin, project);
  await waitFor(async () => (await readAllLogs(controller.admin, build.id)).some((e) => e.text === 'tick 5'), { what: 'the first ticks' });

  await controller.crash();
  // The build goes on printing while nobody listens.
  await delay(1500);
  await controller.restart();

  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 40_000);
  const entries = await readAllLogs(controller.admin, build.id);
  assert.equal(ended.status, 'succeeded', `${JSON.stringify(ended)}\n${worker.output()}`);
  assert.equal(ended.attempts?.length, 1, 'the same attempt finished the build');

  const ticks = entries.filter((e) => e.phase === 'ticks' && e.stream === 'stdout').map((e) => e.text);
  assert.deepEqual(ticks, Array.from({ length: TICKS }, (_, i) => `tick ${i + 1}`));
  assert.ok(entries.some((e) => e.text === 'after the restart'));
  const keys = entries.map((e) => `${e.t}|${e.stream}|${e.phase}|${e.marker ?? ''}|${e.text}`);
  assert.equal(new Set(keys).size, keys.length, 'no line is stored twice');
  const markers = entries.filter((e) => e.marker).map((e) => `${e.marker} ${e.phase}`);
  assert.deepEqual(markers, ['START_PHASE PREPARE_PROJECT', 'END_PHASE PREPARE_PROJECT', 'START_PHASE ticks', 'END_PHASE ticks', 'START_PHASE after', 'END_PHASE after']);
});
