import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEnv } from '../src/pipelines/build-env.js';
import { outputOf, runnerHarness, sampleJob } from './support/runner-fixtures.js';

const printVersion = { kind: 'command' as const, command: { argv: ['bash', '-c', 'echo "build=${EAS_BUILD_APP_BUILD_VERSION-unset}"'] } };

void test('the build version the controller assigned is EAS_BUILD_APP_BUILD_VERSION in a step, and the job cannot override it', async (t) => {
  const job = sampleJob({ platform: 'android', profile: { appVersionSource: 'remote', appBuildVersion: 42 }, env: { EAS_BUILD_APP_BUILD_VERSION: '999' } });
  const h = await runnerHarness(t, { env: buildEnv({ job, projectDir: '/unused', secrets: {} }) });
  await h.runner.run([{ name: 'RUN_GRADLEW', steps: [printVersion] }]);
  assert.equal(h.runner.result().outcome, 'succeeded');
  assert.deepEqual(outputOf(h.lines, 'RUN_GRADLEW'), ['build=42']);
});

void test('without a remote build version the variable is not set', async (t) => {
  const job = sampleJob({ platform: 'ios' });
  const h = await runnerHarness(t, { env: buildEnv({ job, projectDir: '/unused', secrets: {} }) });
  await h.runner.run([{ name: 'RUN_FASTLANE', steps: [printVersion] }]);
  assert.deepEqual(outputOf(h.lines, 'RUN_FASTLANE'), ['build=unset']);
});
