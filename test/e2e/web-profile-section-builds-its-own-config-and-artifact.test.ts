/**
 * eas.json's `web` section (BuildMesh's own): a profile whose web section names its own custom
 * `config` and `applicationArchivePath` builds through a real worker and returns exactly that
 * artifact; a web build of a project that does not depend on expo fails with WEB_EXPO_MISSING
 * before npx could download anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveBuildProfile } from '../../packages/cli/src/eas-json.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';

const EAS_JSON = {
  build: {
    production: {
      env: { SITE_NAME: 'common' },
      web: {
        config: 'web.yml',
        applicationArchivePath: 'site/site.tar.gz',
        env: { SITE_NAME: 'from-the-web-section' },
      },
    },
  },
};

test('a web profile section with its own config and applicationArchivePath builds and returns that artifact', { timeout: 3 * 60_000 }, async (t) => {
  const controller = await startTestController(t);
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  await waitForWorkerOnline(controller.admin, worker);

  const { profile } = resolveBuildProfile(EAS_JSON, 'production', 'web');
  const project = makeFixtureProject(t, [], {
    'eas.json': JSON.stringify(EAS_JSON),
    '.eas/build/web.yml': `build:
  name: Static site
  steps:
    - eas/checkout
    - run:
        name: Render
        command: |
          mkdir -p public site
          echo "<h1>$SITE_NAME</h1>" > public/index.html
          tar -czf site/site.tar.gz -C public .
          echo "rendered for $SITE_NAME"
`,
  });
  const build = await submitBuild(controller.admin, project, { profile });
  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
  const entries = await readAllLogs(controller.admin, build.id);
  assert.equal(ended.status, 'succeeded', `${JSON.stringify(ended.error)}\n${entries.map((e) => e.text).join('\n')}`);
  assert.ok(outputLines(entries).includes('rendered for from-the-web-section'));
  const { artifacts } = await controller.admin.listArtifacts(build.id);
  assert.deepEqual(artifacts.map((a) => `${a.kind} ${a.name}`), ['application-archive site.tar.gz']);

  // Without a custom config, a project with no expo dependency fails at EXPORT_WEB, before npx.
  const plain = makeFixtureProject(t, [], {
    'package-lock.json': JSON.stringify({ name: 'fixture', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'fixture', version: '1.0.0' } } }),
  });
  const noExpo = await submitBuild(controller.admin, plain, { profile: { name: 'production', env: {}, config: undefined } });
  const failed = await waitForStatus(controller.admin, noExpo.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 120_000);
  const log = await readAllLogs(controller.admin, noExpo.id);
  assert.equal(failed.status, 'failed', log.map((e) => e.text).join('\n'));
  assert.equal(failed.error?.code, 'WEB_EXPO_MISSING');
  assert.equal(failed.error?.phase, 'EXPORT_WEB');
  assert.ok(!log.some((e) => /npx expo export/.test(e.text)), 'npx never ran');
});
