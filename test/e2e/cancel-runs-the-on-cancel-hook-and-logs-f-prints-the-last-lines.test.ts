/**
 * A build canceled while `buildmesh logs -f` follows it, through a real controller and worker:
 * the running hook is stopped, the project's `eas-build-on-cancel` script runs (and no other
 * hook), and `logs -f` prints the worker's last lines — the on-cancel output and the phase end —
 * before it exits 3 (canceled).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawnCli } from '../../packages/cli/test/helpers/cli.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';
import { waitFor } from '../helpers/wait.js';

test('cancel runs eas-build-on-cancel; logs -f shows the last lines and exits 3', { timeout: 3 * 60_000 }, async (t) => {
  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 300 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const scripts = {
    'eas-build-post-install': 'echo "post-install is sleeping" && sleep 120',
    'eas-build-on-cancel': 'echo "on-cancel ran for $EAS_BUILD_ID"',
    'eas-build-on-error': 'echo "on-error must not run on cancel"',
  };
  const project = makeFixtureProject(t, [], {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', private: true, scripts, dependencies: {} }),
    'package-lock.json': JSON.stringify({ name: 'fixture', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'fixture', version: '1.0.0' } } }),
  });
  const build = await submitBuild(controller.admin, project, { profile: { name: 'ci', env: {}, config: undefined } });
  const follow = spawnCli(['logs', build.id, '-f'], { env: { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken, HOME: worker.configDir } });
  t.after(() => follow.kill('SIGKILL'));
  const exited = once(follow, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  await waitFor(async () => (follow.output.stdout.includes('post-install is sleeping') ? true : undefined), { timeoutMs: 120_000, what: 'the hook to start' });
  await controller.admin.cancelBuild(build.id);
  const [code] = await exited;
  const ended = await waitForStatus(controller.admin, build.id, ['canceled', 'failed', 'succeeded', 'timed_out'], 30_000);
  assert.equal(ended.status, 'canceled');

  // logs -f ended only after the worker's report: everything it printed is stored by now.
  const stored = outputLines(await readAllLogs(controller.admin, build.id));
  assert.ok(stored.includes(`on-cancel ran for ${build.id}`), stored.join('\n'));
  assert.ok(!stored.some((l) => l.includes('on-error must not run')), 'on-error does not run on cancel');

  assert.equal(code, 3, follow.output.stderr);
  assert.match(follow.output.stdout, new RegExp(`on-cancel ran for ${build.id}`), `logs -f printed the worker's last lines:\n${follow.output.stdout}`);
});
