/**
 * A bare-workflow project (committed android/, whose own gradlew stands in for
 * Gradle) through a real controller and worker. The worker sees an Android SDK
 * layout and Java, so it advertises android; the build's uploaded keystore
 * travels encrypted to the leasing worker only, is injected the way EAS does it
 * (the fixture's gradlew checks the applied Gradle file and the credentials
 * JSON), the task follows buildType, and the apk/aab is collected by the
 * default glob and downloads with the sha256 the API reports.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CredentialsBundle } from '@buildmesh/protocol';
import { readEasJson, resolveBuildProfile } from '../../packages/cli/src/eas-json.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { outputLines, readAllLogs, waitForStatus } from '../helpers/builds.js';
import { packLikeTheCli } from '../helpers/expo-fixture.js';
import { REPO_ROOT } from '../helpers/processes.js';
import { bytesOf } from '../helpers/bytes.js';

const FIXTURE = join(REPO_ROOT, 'packages/worker/test/fixtures/bare-android');
const KEYSTORE = 'not-really-a-jks-but-the-bytes-travel-intact';
const credentials: CredentialsBundle = {
  android: {
    keystore: {
      keystoreBase64: Buffer.from(KEYSTORE).toString('base64'),
      keystorePassword: 'store-pass-7f3a9c',
      keyAlias: 'upload',
      keyPassword: 'key-pass-51be02',
    },
  },
};
const expectations = {
  EXPECTED_KEYSTORE_CONTENT: KEYSTORE,
  EXPECTED_KEYSTORE_PASSWORD: 'store-pass-7f3a9c',
  EXPECTED_KEY_ALIAS: 'upload',
  EXPECTED_KEY_PASSWORD: 'key-pass-51be02',
};

/** What the worker's capability probe looks for: an SDK root with platform-tools and a build-tools version. */
function fakeAndroidSdk(t: { after(fn: () => void): void }): string {
  const sdk = mkdtempSync(join(tmpdir(), 'buildmesh-fake-sdk-'));
  t.after(() => rmSync(sdk, { recursive: true, force: true }));
  mkdirSync(join(sdk, 'platform-tools'));
  mkdirSync(join(sdk, 'build-tools', '35.0.0'), { recursive: true });
  mkdirSync(join(sdk, 'platforms', 'android-35'), { recursive: true });
  return sdk;
}

test('a bare android project builds signed apk and aab through the worker', { timeout: 5 * 60_000 }, async (t) => {
  const controller = await startTestController(t, { timing: { leaseTtlMs: 20_000, heartbeatIntervalMs: 1000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken(), env: { ANDROID_HOME: fakeAndroidSdk(t) } });
  const info = await waitForWorkerOnline(controller.admin, worker);
  assert.ok(info.platforms.includes('android'), `the worker advertises ${info.platforms.join(', ')}`);

  const easJson = await readEasJson(FIXTURE);
  const cases = [
    { profile: 'preview', artifact: 'app-release.apk', task: ':app:assembleRelease' },
    { profile: 'production', artifact: 'app-release.aab', task: ':app:bundleRelease' },
  ];
  for (const c of cases) {
    const build = await controller.admin.createBuild(
      { project: 'bare-android', platform: 'android', profile: resolveBuildProfile(easJson, c.profile, 'android').profile, env: expectations },
      await packLikeTheCli(FIXTURE),
      { credentials },
    );
    assert.equal(build.hasCredentials, true);
    const done = await waitForStatus(controller.admin, build.id, ['succeeded', 'failed', 'timed_out', 'canceled'], 4 * 60_000);
    const log = await readAllLogs(controller.admin, build.id);
    const text = log.map((e) => e.text).join('\n');
    assert.equal(done.status, 'succeeded', `${c.profile}: ${JSON.stringify(done.error)}\n${outputLines(log).slice(-30).join('\n')}`);

    const phases = log.filter((e) => e.marker === 'END_PHASE').map((e) => `${e.phase}:${e.result}`);
    assert.ok(phases.includes('INSTALL_DEPENDENCIES:success'), phases.join(' '));
    assert.ok(!phases.some((p) => p.startsWith('PREBUILD:success')), `prebuild must be skipped when android/ is committed: ${phases.join(' ')}`);
    assert.ok(phases.includes('PREPARE_CREDENTIALS:success'), phases.join(' '));
    assert.ok(phases.includes('RUN_GRADLEW:success'), phases.join(' '));
    assert.match(text, new RegExp(c.task));
    for (const secret of Object.values(expectations).filter((v) => v !== 'upload')) {
      assert.ok(!text.includes(secret), `the stored log leaks ${secret}`);
    }

    const { artifacts } = await controller.admin.listArtifacts(build.id);
    const archive = artifacts.find((a) => a.kind === 'application-archive');
    assert.equal(archive?.name, c.artifact, JSON.stringify(artifacts));
    const bytes = await bytesOf(await controller.admin.downloadArtifact(build.id, archive.id));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), archive.sha256);
    assert.equal(bytes.toString(), `built by ${c.task}\n`);
  }
});
