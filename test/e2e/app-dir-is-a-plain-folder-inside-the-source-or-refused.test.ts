/**
 * A build's `appDir` (the app's folder inside a monorepo's source) is attacker input: the controller
 * refuses anything but a normalized relative path (400 VALIDATION_FAILED, no build stored), and the
 * worker refuses a folder the source does not have, or a link standing in for one (even a link to
 * another folder of the source), at PREPARE_PROJECT with SOURCE_UNPACK_FAILED, before any command.
 * A good one builds in that folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from '@buildmesh/protocol';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, packProject, readAllLogs, waitForStatus } from '../helpers/builds.js';

const CONFIG = `build:
  name: where
  steps:
    - run: echo "building in $(basename "$PWD") of $(basename "$EAS_BUILD_WORKINGDIR")"
`;

test('appDir: bad paths are refused by the controller, missing or linked folders by the worker', { timeout: 3 * 60_000 }, async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const project = makeFixtureProject(t, [], {
    'apps/mobile/package.json': JSON.stringify({ name: 'mobile', version: '1.0.0', private: true }),
    'apps/mobile/.eas/build/ci.yml': CONFIG,
    'packages/other/package.json': JSON.stringify({ name: 'other', version: '1.0.0' }),
    'packages/other/.eas/build/ci.yml': CONFIG,
  });
  symlinkSync('../packages/other', join(project, 'apps/linked'));
  const submit = async (appDir: string) =>
    controller.admin.createBuild({ project: 'mono', platform: 'web', profile: { name: 'ci', env: {}, config: 'ci.yml' }, appDir }, await packProject(project));

  const before = (await controller.admin.listBuilds({})).builds.length;
  for (const bad of ['../mobile', '/etc', 'apps/../apps/mobile', 'apps/./mobile', 'apps//mobile', 'apps/mobile/', '.', 'apps\\mobile', 'apps/\u0001']) {
    await assert.rejects(submit(bad), (err: unknown) => err instanceof ApiError && err.code === 'VALIDATION_FAILED' && /appDir/.test(err.message), `appDir ${JSON.stringify(bad)}`);
  }
  assert.equal((await controller.admin.listBuilds({})).builds.length, before, 'nothing was stored');

  for (const appDir of ['apps/missing', 'apps/linked']) {
    const build = await submit(appDir);
    const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
    const log = await readAllLogs(controller.admin, build.id);
    assert.equal(ended.status, 'failed', `${appDir}: ${log.map((e) => e.text).join('\n')}`);
    assert.equal(ended.error?.code, 'SOURCE_UNPACK_FAILED', appDir);
    assert.equal(ended.error?.phase, 'PREPARE_PROJECT', appDir);
    assert.deepEqual(outputLines(log), [], `${appDir}: no command ran`);
  }

  const good = await submit('apps/mobile');
  assert.equal(good.appDir, 'apps/mobile');
  const ended = await waitForStatus(controller.admin, good.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
  const log = await readAllLogs(controller.admin, good.id);
  assert.equal(ended.status, 'succeeded', log.map((e) => e.text).join('\n'));
  assert.ok(outputLines(log).includes('building in mobile of project'), outputLines(log).join('\n'));
});
