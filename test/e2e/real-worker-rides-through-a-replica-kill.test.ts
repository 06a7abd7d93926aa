/**
 * A real worker process talking to two replicas through nginx keeps building
 * when one replica is killed (-9) mid-build: its heartbeats, log batches, claims
 * and results go to the survivor through the balancer without anyone telling it,
 * and every build succeeds exactly once with its whole log.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Build } from '@buildmesh/protocol';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { replicaSkip, startReplicaSet } from '../helpers/replicas.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { waitFor } from '../helpers/wait.js';

test('a real worker behind nginx rides through the kill of a replica', { skip: replicaSkip, timeout: 240_000 }, async (t) => {
  const set = await startReplicaSet(t, { timing: { heartbeatIntervalMs: 300, leaseTtlMs: 4000, sweepIntervalMs: 200, claimWaitMs: 3000 } });
  const enrollment = await set.admin.createEnrollmentToken('real-worker');
  const worker = startTestWorker(t, { url: set.balancerUrl, enrollmentToken: enrollment.secret, name: 'behind-nginx' });
  await waitForWorkerOnline(set.admin, worker);

  const project = makeFixtureProject(t, [{ id: 'work', name: 'Work', command: 'echo "step started"; sleep 3; echo "step finished"' }]);
  const builds: Build[] = [];
  for (let i = 0; i < 3; i++) builds.push(await submitBuild(set.admin, project));
  await waitFor(async () => outputLines(await readAllLogs(set.admin, builds[0]!.id)).includes('step started'), { timeoutMs: 60_000, what: 'the first build to start' });

  await set.replicas[0]!.crash();

  for (const build of builds) {
    const ended = await waitForStatus(set.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 120_000);
    assert.equal(ended.status, 'succeeded', `${build.id}: ${JSON.stringify(ended.error)}\n--- worker ---\n${worker.output().slice(-3000)}`);
    assert.equal((ended.attempts ?? []).filter((a) => a.status === 'succeeded').length, 1, 'completed exactly once');
    const lines = outputLines(await readAllLogs(set.admin, build.id));
    assert.ok(lines.includes('step started') && lines.includes('step finished'), lines.join('\n'));
  }
});
