/**
 * The natural first-run order: `buildmesh secrets set` (and `credentials` reads) for a project
 * that has never built — the project is created on first use — then its first build sees the
 * secret as an environment variable, masked in the stored log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../packages/cli/test/helpers/cli.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';

test('a secret set before the project’s first build reaches that build, masked', { timeout: 2 * 60_000 }, async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  const env = { BUILDMESH_URL: controller.url, BUILDMESH_TOKEN: controller.adminToken, HOME: worker.configDir };
  const value = 'first-run-secret-7f3a9c';

  const list = await runCli(['secrets', 'list', '--project', 'brand-new', '--json'], { env });
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual((JSON.parse(list.stdout) as { secrets: unknown[] }).secrets, []);
  const set = await runCli(['secrets', 'set', 'API_KEY', '--project', 'brand-new'], { env, input: value });
  assert.equal(set.code, 0, set.stderr);
  const credentials = await runCli(['credentials', 'show', '--project', 'brand-new', '--json'], { env });
  assert.equal(credentials.code, 0, credentials.stderr);

  await waitForWorkerOnline(controller.admin, worker);
  const project = makeFixtureProject(t, [{ name: 'Use the secret', command: 'echo "key=$API_KEY"; echo "length=${#API_KEY}"' }]);
  const build = await submitBuild(controller.admin, project, { project: 'brand-new' });
  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
  const output = outputLines(await readAllLogs(controller.admin, build.id));
  assert.equal(ended.status, 'succeeded', output.join('\n'));
  assert.ok(output.includes(`length=${value.length}`), 'the build saw the value');
  assert.ok(output.some((l) => /^key=\*+$/.test(l)), `the value is masked: ${output.join('\n')}`);
  assert.ok(!output.some((l) => l.includes(value)));
});
