import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildFailure } from '../src/runner/build-failure.js';
import { customConfigRelativePath, parseCustomConfig, planCustomConfig } from '../src/runner/custom-config.js';
import { markers, outputOf, runnerHarness, tempDir } from './support/runner-fixtures.js';

function writeConfig(projectDir: string, name: string, text: string): void {
  mkdirSync(join(projectDir, '.eas', 'build'), { recursive: true });
  writeFileSync(join(projectDir, '.eas', 'build', name), text);
}

async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<BuildFailure> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    assert.ok(err instanceof BuildFailure, `expected a BuildFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the config to be refused');
}

void test('run steps (string and object form) become one phase each, with bash -eo pipefail, env, cwd and timeout', async (t) => {
  const project = tempDir(t);
  writeConfig(
    project,
    'ci.yml',
    `build:
  name: CI
  steps:
    - run: echo one
    - run:
        id: bundle
        name: Bundle the app
        command: |
          echo two
          echo three
        env:
          NODE_ENV: production
          RETRIES: 3
        working_directory: ./packages/app
        timeout_minutes: 1.5
    - run:
        name: Custom shell
        command: echo four
        shell: sh -e
        network: true
`,
  );
  const phases = await planCustomConfig(project, 'ci.yml');
  assert.deepEqual(phases, [
    { name: 'CUSTOM', title: 'echo one', steps: [{ kind: 'command', command: { argv: ['bash', '-eo', 'pipefail', '-c', 'echo one'] } }], network: false },
    {
      name: 'bundle',
      title: 'Bundle the app',
      steps: [
        {
          kind: 'command',
          command: { argv: ['bash', '-eo', 'pipefail', '-c', 'echo two\necho three\n'], cwd: 'packages/app', env: { NODE_ENV: 'production', RETRIES: '3' } },
        },
      ],
      network: false,
      timeoutMs: 90_000,
    },
    { name: 'CUSTOM', title: 'Custom shell', steps: [{ kind: 'command', command: { argv: ['sh', '-e', '-c', 'echo four'] } }], network: true },
  ]);
  // The name without extension finds the same file.
  assert.deepEqual(await planCustomConfig(project, 'ci'), phases);
});

void test('the plan runs: pipefail makes a failing pipeline fail the step', async (t) => {
  const h = await runnerHarness(t);
  writeConfig(h.workspace.projectDir, 'p.yml', 'build:\n  steps:\n    - run: echo before\n    - run: false | cat\n    - run: echo after\n');
  await h.runner.run(await planCustomConfig(h.workspace.projectDir, 'p.yml'));
  assert.deepEqual(outputOf(h.lines), ['before']);
  assert.equal(h.runner.result().outcome, 'failed');
  assert.deepEqual(
    markers(h.lines).filter((m) => m.marker === 'END_PHASE').map((m) => m.result),
    ['success', 'failed'],
  );
});

void test('function calls, unknown keys and extra top-level sections are refused by name', () => {
  const err = (text: string) => {
    try {
      parseCustomConfig(text, '.eas/build/x.yml');
    } catch (e) {
      assert.ok(e instanceof BuildFailure);
      assert.equal(e.code, 'CUSTOM_CONFIG_INVALID');
      return e.message;
    }
    return assert.fail('expected a refusal');
  };
  assert.match(err('build:\n  steps:\n    - eas/checkout\n    - run: echo ok\n'), /step 1: function call "eas\/checkout"/);
  assert.match(err('build:\n  steps:\n    - eas/build:\n        inputs: {}\n'), /function call "eas\/build"/);
  assert.match(err('build:\n  steps:\n    - run:\n        command: x\n        if: ${ always() }\n        outputs: [a]\n'), /unsupported keys "if", "outputs"/);
  assert.match(err('functions:\n  hi:\n    command: echo\nbuild:\n  steps:\n    - run: echo\n'), /top-level key "functions"/);
  assert.match(err('build:\n  steps: []\n'), /non-empty list/);
  assert.match(err('build: [oops'), /not valid YAML/);
  assert.match(err('build:\n  steps:\n    - run:\n        command: x\n        timeout_minutes: -1\n'), /timeout_minutes/);
  assert.match(err('build:\n  steps:\n    - run:\n        command: x\n        env: { "BAD-NAME": 1 }\n'), /env name "BAD-NAME"/);
});

void test('working directories that leave the project are refused when parsing', () => {
  for (const wd of ['../outside', '/etc', 'a/../../b']) {
    assert.throws(
      () => parseCustomConfig(`build:\n  steps:\n    - run:\n        command: pwd\n        working_directory: ${wd}\n`),
      (e: unknown) => e instanceof BuildFailure && e.code === 'CUSTOM_CONFIG_INVALID' && /outside the project/.test(e.message),
    );
  }
  const [phase] = parseCustomConfig('build:\n  steps:\n    - run:\n        command: pwd\n        working_directory: a/../b\n').steps;
  assert.equal(phase?.workingDirectory, 'b');
});

void test('config names cannot traverse, and a config symlinked from outside the project is refused', async (t) => {
  for (const name of ['../secrets.yml', 'a/../../x.yml', '/etc/passwd', '.hidden.yml', 'a//b.yml', 'x.yml\u0000']) {
    const err = await refusal(() => customConfigRelativePath(name));
    assert.equal(err.code, 'CUSTOM_CONFIG_INVALID');
  }
  assert.equal(customConfigRelativePath('nested/ci.yaml'), '.eas/build/nested/ci.yaml');

  const root = tempDir(t);
  const project = join(root, 'project');
  mkdirSync(join(project, '.eas', 'build'), { recursive: true });
  writeFileSync(join(root, 'outside.yml'), 'build:\n  steps:\n    - run: cat /etc/hostname\n');
  symlinkSync(join(root, 'outside.yml'), join(project, '.eas', 'build', 'linked.yml'));
  assert.match((await refusal(planCustomConfig(project, 'linked.yml'))).message, /outside the project/);
  assert.match((await refusal(planCustomConfig(project, 'missing.yml'))).message, /does not exist/);
});
