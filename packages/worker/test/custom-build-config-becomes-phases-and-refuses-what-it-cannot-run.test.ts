import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_FUNCTION_SPECS, CustomConfigError, customConfigRelativePath, interpolate, parseCustomConfig, type ExpressionContext } from '@buildmesh/protocol/custom-config';
import { BUILTIN_FUNCTIONS } from '../src/custom/functions/index.js';
import { planCustomBuild, type CustomPlanServices } from '../src/custom/plan-custom.js';
import type { ArtifactSpec } from '../src/runner/artifacts.js';
import { BuildFailure } from '../src/runner/build-failure.js';
import { markers, outputOf, runnerHarness, sampleJob, tempDir, type RunnerHarness } from './support/runner-fixtures.js';

function writeConfig(projectDir: string, name: string, text: string): void {
  mkdirSync(join(projectDir, '.eas', 'build'), { recursive: true });
  writeFileSync(join(projectDir, '.eas', 'build', name), text);
}

function services(h: { workspace: RunnerHarness['workspace'] } | string, uploads: ArtifactSpec[] = []): CustomPlanServices {
  const projectDir = typeof h === 'string' ? h : h.workspace.projectDir;
  return {
    input: { job: sampleJob(), projectDir, workspaceRoot: join(projectDir, '..'), credentials: null, secrets: {}, env: {} },
    planPipeline: () => Promise.reject(new Error('no pipeline in this test')),
    planContext: () => Promise.reject(new Error('no plan context in this test')),
    upload: async (spec) => {
      uploads.push(spec);
    },
  };
}

async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    assert.ok(err instanceof BuildFailure || err instanceof CustomConfigError, `expected a refusal, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be refused');
}

const refused = (text: string): CustomConfigError => {
  try {
    parseCustomConfig(text, '.eas/build/x.yml');
  } catch (e) {
    assert.ok(e instanceof CustomConfigError);
    return e;
  }
  return assert.fail('expected a refusal');
};

void test('every built-in function the validator accepts has an implementation, and the other way round', () => {
  assert.deepEqual([...BUILTIN_FUNCTIONS.keys()].sort(), Object.keys(BUILTIN_FUNCTION_SPECS).sort());
});

void test('run steps: pipefail, env, working directory, outputs between steps, and if: failure()/always()', async (t) => {
  const h = await runnerHarness(t);
  mkdirSync(join(h.workspace.projectDir, 'packages', 'app'), { recursive: true });
  writeConfig(
    h.workspace.projectDir,
    'ci.yml',
    `build:
  name: CI
  steps:
    - run:
        id: version
        name: Read the version
        command: set-output value 1.2.3 && echo "from stdin" | set-output note
        outputs: [{ name: value, required: true }, note]
    - run:
        name: Use it
        working_directory: ./packages/app
        env:
          GREETING: "v\${{ steps.version.outputs.value }}"
        command: |
          echo "$GREETING in $(basename "$PWD") \${{ steps.version.outputs.note }} on \${{ eas.job.platform }}"
    - run:
        name: Fails
        command: false | cat
    - run:
        name: Skipped after a failure
        command: echo never
    - run:
        name: On failure
        if: \${{ failure() }}
        command: echo "cleanup after failure"
    - run:
        name: Always
        if: \${{ always() }}
        command: echo always
    - run:
        name: Only on success
        if: \${{ success() }}
        command: echo never either
`,
  );
  const plan = await planCustomBuild('ci', services(h));
  assert.equal(plan.description, '.eas/build/ci.yml (7 steps: CI)');
  await h.runner.run(plan.phases);
  assert.deepEqual(outputOf(h.lines), ['v1.2.3 in app from stdin on web', 'cleanup after failure', 'always']);
  assert.equal(h.runner.result().outcome, 'failed');
  assert.deepEqual(
    markers(h.lines).filter((m) => m.marker === 'END_PHASE').map((m) => `${m.phase}:${m.result}`),
    ['version:success', 'CUSTOM:success', 'CUSTOM:failed', 'CUSTOM:success', 'CUSTOM:success'],
  );
});

void test('functions of the config take inputs and give outputs; set-env reaches later steps; a missing required output fails', async (t) => {
  const h = await runnerHarness(t);
  writeConfig(
    h.workspace.projectDir,
    'f.yml',
    `build:
  steps:
    - greet:
        id: hello
        inputs:
          who: world
    - run: set-env FROM_STEP "\${{ steps.hello.outputs.greeting }}!"
    - run: echo "$FROM_STEP"
    - greet:
        id: second
    - run:
        command: "true"
        outputs: [{ name: must, required: true }]
functions:
  greet:
    name: Greet
    inputs:
      - name: who
        default_value: nobody
    outputs: [greeting]
    command: set-output greeting "hello \${ inputs.who }"; echo "greeting \${{ inputs.who }}"
`,
  );
  await h.runner.run((await planCustomBuild('f.yml', services(h))).phases);
  assert.deepEqual(outputOf(h.lines), ['greeting world', 'hello world!', 'greeting nobody']);
  const result = h.runner.result();
  assert.equal(result.outcome, 'failed');
  assert.match(result.error!.message, /did not set its required output must/);
});

void test('eas/checkout and eas/upload_artifact run as built-ins; upload takes a path and a type', async (t) => {
  const h = await runnerHarness(t);
  const uploads: ArtifactSpec[] = [];
  writeConfig(
    h.workspace.projectDir,
    'u.yml',
    `build:
  steps:
    - eas/checkout
    - eas/upload_artifact:
        name: Upload the app
        inputs:
          path: dist/app.tar.gz
    - eas/upload_artifact:
        inputs:
          type: build-artifact
          path: |
            logs/*.txt
            reports
`,
  );
  await h.runner.run((await planCustomBuild('u', services(h, uploads))).phases);
  assert.equal(h.runner.result().outcome, 'succeeded');
  assert.deepEqual(uploads, [
    { kind: 'application-archive', patterns: ['dist/app.tar.gz'], required: true },
    { kind: 'build-artifacts', patterns: ['logs/*.txt', 'reports'], required: true },
  ]);
  assert.deepEqual(markers(h.lines).filter((m) => m.marker === 'START_PHASE').map((m) => m.phase), ['CHECKOUT', 'UPLOAD_ARTIFACT', 'UPLOAD_ARTIFACT']);
});

void test('unsupported functions are refused by name with CUSTOM_FUNCTION_UNSUPPORTED; other mistakes with CUSTOM_CONFIG_INVALID', () => {
  const slack = refused('build:\n  steps:\n    - eas/checkout\n    - eas/send_slack_message:\n        inputs: { message: hi }\n');
  assert.equal(slack.code, 'CUSTOM_FUNCTION_UNSUPPORTED');
  assert.match(slack.message, /step 2: function "eas\/send_slack_message" is not supported by BuildMesh/);
  assert.equal(refused('build:\n  steps:\n    - eas/teleport\n').code, 'CUSTOM_FUNCTION_UNSUPPORTED');
  const js = refused('functions:\n  mine:\n    path: ./mine\nbuild:\n  steps:\n    - mine\n');
  assert.equal(js.code, 'CUSTOM_FUNCTION_UNSUPPORTED');
  assert.match(js.message, /JavaScript\/TypeScript modules/);

  const invalid = (text: string): string => {
    const e = refused(text);
    assert.equal(e.code, 'CUSTOM_CONFIG_INVALID', e.message);
    return e.message;
  };
  assert.match(invalid('build:\n  steps:\n    - nothing_here\n'), /neither a built-in function nor defined under `functions`/);
  assert.match(invalid('build:\n  steps:\n    - eas/upload_artifact\n'), /needs the input "path"/);
  assert.match(invalid('build:\n  steps:\n    - eas/upload_artifact:\n        inputs: { path: a, type: other }\n'), /must be one of "application-archive", "build-artifact"/);
  assert.match(invalid('build:\n  steps:\n    - eas/checkout:\n        inputs: { depth: 1 }\n'), /"eas\/checkout" has no input "depth"/);
  assert.match(invalid('build:\n  steps:\n    - run:\n        command: echo ${{ steps.later.outputs.x }}\n    - run:\n        id: later\n        command: "true"\n'), /refers to step "later", which no earlier step has/);
  assert.match(invalid('build:\n  steps:\n    - run:\n        command: x\n        if: ${{ sometimes() }}\n'), /unknown function sometimes\(\)/);
  assert.match(invalid('build:\n  steps:\n    - run:\n        command: x\n        unknown_key: 1\n'), /unsupported key "unknown_key"/);
  assert.match(invalid('import: [a.yml]\nbuild:\n  steps:\n    - run: x\n'), /top-level key "import"/);
  assert.match(invalid('build:\n  steps: []\n'), /non-empty list/);
  assert.match(invalid('build: [oops'), /not valid YAML/);
  assert.match(invalid('build:\n  steps:\n    - run:\n        command: x\n        timeout_minutes: -1\n'), /timeout_minutes/);
  assert.match(invalid('build:\n  steps:\n    - run:\n        command: x\n        env: { "BAD-NAME": 1 }\n'), /env name "BAD-NAME"/);
  assert.match(invalid('build:\n  steps:\n    - run: { id: a, command: x }\n    - run: { id: a, command: y }\n'), /id "a" is used by an earlier step/);
});

void test('expressions: eas.*, env, comparisons and the legacy ${ } form; a shell ${VAR} is left alone', () => {
  const ctx: ExpressionContext = {
    steps: { v: { outputs: { n: '3' } } },
    eas: { job: { platform: 'android' } },
    env: { MODE: 'release' },
    inputs: { who: 'x' },
    failed: false,
    stopped: false,
  };
  assert.equal(interpolate('${{ eas.job.platform }}/${ steps.v.outputs.n }/${HOME}/${{ env.MODE == \'release\' && \'yes\' || \'no\' }}', ctx), 'android/3/${HOME}/yes');
  assert.equal(interpolate('${{ steps.v.outputs.missing }}|${{ contains(env.MODE, \'lea\') }}|${{ !success() }}', ctx), '|true|false');
});

void test('set-env cannot change who the build is, and outputs are read without following links', async (t) => {
  const h = await runnerHarness(t);
  writeConfig(h.workspace.projectDir, 'e.yml', 'build:\n  steps:\n    - run: set-env EAS_BUILD_ID other\n');
  await h.runner.run((await planCustomBuild('e', services(h))).phases);
  assert.match(h.runner.result().error!.message, /EAS_BUILD_ID is set by the worker/);

  const h2 = await runnerHarness(t);
  writeConfig(h2.workspace.projectDir, 'l.yml', 'build:\n  steps:\n    - run: ln -s /etc/hostname "$BUILDMESH_STEP_OUTPUTS_DIR/leak"\n');
  await h2.runner.run((await planCustomBuild('l', services(h2))).phases);
  assert.match(h2.runner.result().error!.message, /leak is not a regular file/);
});

void test('config names cannot traverse, and a config symlinked from outside the project is refused', async (t) => {
  for (const name of ['../secrets.yml', 'a/../../x.yml', '/etc/passwd', '.hidden.yml', 'a//b.yml', 'x.yml\u0000']) {
    assert.throws(() => customConfigRelativePath(name), (e: unknown) => e instanceof CustomConfigError && e.code === 'CUSTOM_CONFIG_INVALID');
  }
  assert.equal(customConfigRelativePath('nested/ci.yaml'), '.eas/build/nested/ci.yaml');
  for (const wd of ['../outside', '/etc', 'a/../../b']) {
    assert.match(refused(`build:\n  steps:\n    - run:\n        command: pwd\n        working_directory: ${wd}\n`).message, /outside the project/);
  }

  const root = tempDir(t);
  const project = join(root, 'project');
  mkdirSync(join(project, '.eas', 'build'), { recursive: true });
  writeFileSync(join(root, 'outside.yml'), 'build:\n  steps:\n    - run: cat /etc/hostname\n');
  symlinkSync(join(root, 'outside.yml'), join(project, '.eas', 'build', 'linked.yml'));
  assert.match((await refusal(planCustomBuild('linked.yml', services(project)))).message, /outside the project/);
  assert.match((await refusal(planCustomBuild('missing.yml', services(project)))).message, /does not exist/);
});
