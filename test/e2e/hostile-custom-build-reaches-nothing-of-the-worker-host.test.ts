/**
 * A hostile custom build, through a real controller and a real worker (root, bubblewrap), tries to
 * make the worker's own code — which runs outside the sandbox — read or write the host for it:
 * swapping project/ for a link to /, planting a link where the worker creates the next step's
 * directories, linking .npmrc to a host file before eas/use_npm_token, and uploading host files
 * as artifacts. Every attempt fails: the host file and directory are unchanged, nothing of the
 * host is uploaded, and the build fails with a code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestController } from '../helpers/controller.js';
import { bwrapSkipper } from '../helpers/bwrap.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';

const bwrap = await bwrapSkipper();
const asRoot = process.getuid?.() === 0;

test('a hostile custom build reaches nothing of the worker host', { skip: bwrap.skip() || (!asRoot && 'the build user differs from the worker only when the worker runs as root'), timeout: 5 * 60_000 }, async (t) => {
  const host = mkdtempSync('/var/tmp/bm-host-');
  t.after(() => rmSync(host, { recursive: true, force: true }));
  const victimFile = join(host, 'victim');
  const victimDir = join(host, 'victim-dir');
  writeFileSync(victimFile, 'host secret\n', { mode: 0o600 });
  mkdirSync(victimDir, { mode: 0o700 });

  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), sandbox: 'bwrap' });
  await waitForWorkerOnline(controller.admin, worker);

  const plant = [
    'W=$(dirname "$PWD")',
    '(cd "$W" && mv project p2 && ln -s / project) || echo "swap refused"',
    `for n in 1 2 3 4 5 6 7 8; do ln -s ${victimDir} "$W/.buildmesh/steps/$n" 2>/dev/null; done; echo planted-or-not`,
    `ln -s ${victimFile} .npmrc`,
    `ln -s ${victimFile} host-copy`,
  ].join('\n');
  const project = makeFixtureProject(t, [], {
    '.eas/build/ci.yml': `build:
  steps:
    - run:
        name: Plant
        command: |
${plant.split('\n').map((l) => `          ${l}`).join('\n')}
    - run:
        name: Next step
        command: echo next
    - eas/upload_artifact:
        if: \${{ always() }}
        inputs:
          type: build-artifact
          path: |
            etc/passwd
            host-copy
    - eas/use_npm_token:
        if: \${{ always() }}
`,
  });
  const build = await submitBuild(controller.admin, project, { env: { NPM_TOKEN: 'npm_hostile' }, profile: { name: 'ci', env: {}, config: 'ci.yml', buildArtifactPaths: ['etc/shadow', 'host-copy'] } });
  const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 180_000);
  const log = (await readAllLogs(controller.admin, build.id)).map((e) => e.text).join('\n');
  assert.equal(ended.status, 'failed', log);
  assert.ok(ended.error?.code, log);
  assert.match(log, /swap refused/);
  assert.equal(readFileSync(victimFile, 'utf8'), 'host secret\n', 'the worker wrote a host file through .npmrc');
  assert.equal(statSync(victimDir).mode & 0o777, 0o700, 'the worker chmodded a host directory');
  assert.deepEqual(readdirSync(victimDir), []);
  assert.deepEqual((await controller.admin.listArtifacts(build.id)).artifacts, [], 'a host file was uploaded');
});
