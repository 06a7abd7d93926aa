/**
 * Custom build configs written as EAS documents them, through a real controller and a real worker
 * in its bubblewrap sandbox: eas/checkout → eas/install_node_modules → steps with set-output and a
 * config function with inputs and outputs → eas/upload_artifact with a path → eas/build (the web
 * pipeline, with a local stand-in for the expo CLI so no registry is needed) → an `if: failure()`
 * step that must not run; a failing build whose `if: ${{ failure() }}` step runs; and a config
 * calling a function BuildMesh does not run, refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestController } from '../helpers/controller.js';
import { bwrapSkipper } from '../helpers/bwrap.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, outputLines, readAllLogs, submitBuild, waitForStatus } from '../helpers/builds.js';

const bwrap = await bwrapSkipper();

/** `expo` as a local package whose CLI writes dist/index.html: `npm ci` installs it offline. */
const FAKE_EXPO: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'fixture', version: '1.4.2', private: true, dependencies: { expo: 'file:./fake-expo' } }, null, 2),
  'package-lock.json': JSON.stringify(
    {
      name: 'fixture',
      version: '1.4.2',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'fixture', version: '1.4.2', dependencies: { expo: 'file:./fake-expo' } },
        'fake-expo': { name: 'expo', version: '57.0.0', bin: { expo: 'bin/expo.js' } },
        'node_modules/expo': { resolved: 'fake-expo', link: true },
      },
    },
    null,
    2,
  ),
  'fake-expo/package.json': JSON.stringify({ name: 'expo', version: '57.0.0', bin: { expo: 'bin/expo.js' } }),
  'fake-expo/bin/expo.js': `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
const out = args.includes('--output-dir') ? args[args.indexOf('--output-dir') + 1] : 'dist';
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(out + '/index.html', '<!doctype html><title>fake expo export</title>');
console.log('fake expo ' + args.join(' '));
`,
};

const EAS_EXAMPLE = `build:
  name: EAS documented example
  steps:
    - eas/checkout
    - eas/install_node_modules
    - run:
        id: version
        name: Read the version
        command: set-output value "$(node -p 'require("./package.json").version')"
        outputs: [value]
    - greet:
        id: hi
        inputs:
          who: \${{ steps.version.outputs.value }}
    - run:
        name: Show the outputs
        command: echo "greeting=\${{ steps.hi.outputs.greeting }} platform=\${{ eas.job.platform }} profile=\${{ eas.job.buildProfile }}"
    - run:
        name: Write a report
        command: mkdir -p reports && echo "all good" > reports/summary.txt
    - eas/upload_artifact:
        name: Upload the report
        inputs:
          type: build-artifact
          path: reports/summary.txt
    - eas/build
    - run:
        name: Only after a failure
        if: \${{ failure() }}
        command: echo "this must not run"
functions:
  greet:
    name: Greet
    inputs:
      - name: who
        required: true
    outputs: [greeting]
    command: set-output greeting "hello \${ inputs.who }"
`;

test('EAS-documented custom configs run through a real sandboxed worker', { skip: bwrap.skip(), timeout: 5 * 60_000 }, async (t) => {
  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), sandbox: 'bwrap' });
  await waitForWorkerOnline(controller.admin, worker);

  await t.test('checkout → install → outputs → function → upload_artifact → eas/build', async () => {
    const project = makeFixtureProject(t, [], { ...FAKE_EXPO, '.eas/build/ci.yml': EAS_EXAMPLE });
    const build = await submitBuild(controller.admin, project);
    const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 180_000);
    const entries = await readAllLogs(controller.admin, build.id);
    const output = outputLines(entries);
    assert.equal(ended.status, 'succeeded', `${JSON.stringify(ended.error)}\n${entries.map((e) => `${e.phase ?? ''} ${e.text}`).join('\n')}`);
    assert.ok(output.includes('greeting=hello 1.4.2 platform=web profile=ci'), output.join('\n'));
    assert.ok(output.some((l) => l.startsWith('fake expo export --platform web')), 'eas/build ran the web pipeline');
    assert.ok(!output.includes('this must not run'));
    const phases = entries.filter((e) => e.marker === 'START_PHASE').map((e) => e.phase);
    for (const phase of ['CHECKOUT', 'INSTALL_NODE_MODULES', 'version', 'hi', 'UPLOAD_ARTIFACT', 'INSTALL_DEPENDENCIES', 'EXPORT_WEB', 'UPLOAD_APPLICATION_ARCHIVE']) {
      assert.ok(phases.includes(phase), `phase ${phase} ran: ${phases.join(', ')}`);
    }
    const { artifacts } = await controller.admin.listArtifacts(build.id);
    assert.deepEqual(artifacts.map((a) => `${a.kind} ${a.name}`).sort(), ['application-archive ' + `web-${build.id}.tar.gz`, 'build-artifacts summary.txt'].sort());
  });

  await t.test('if: ${{ failure() }} runs after a failed step; later plain steps do not', async () => {
    const project = makeFixtureProject(t, [], {
      '.eas/build/ci.yml': `build:
  steps:
    - run:
        name: Fails
        command: echo "about to fail"; exit 3
    - run:
        name: Skipped
        command: echo "skipped step ran"
    - run:
        name: Report the failure
        if: \${{ failure() }}
        command: echo "cleanup ran"
    - run:
        name: Always
        if: \${{ always() }}
        command: echo "always ran"
`,
    });
    const build = await submitBuild(controller.admin, project);
    const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
    const output = outputLines(await readAllLogs(controller.admin, build.id));
    assert.equal(ended.status, 'failed');
    assert.equal(ended.error?.code, 'STEP_FAILED');
    assert.deepEqual(output, ['about to fail', 'cleanup ran', 'always ran']);
  });

  await t.test('a function BuildMesh does not run is refused by name', async () => {
    const project = makeFixtureProject(t, [], {
      '.eas/build/ci.yml': 'build:\n  steps:\n    - eas/checkout\n    - eas/send_slack_message:\n        inputs: { message: done }\n',
    });
    const build = await submitBuild(controller.admin, project);
    const ended = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'canceled', 'timed_out'], 60_000);
    assert.equal(ended.status, 'failed');
    assert.equal(ended.error?.code, 'CUSTOM_FUNCTION_UNSUPPORTED');
    assert.match(ended.error?.message ?? '', /eas\/send_slack_message/);
  });
});
