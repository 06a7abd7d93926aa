/**
 * Capabilities are detected, and claims match them: a worker without an Android toolchain keeps
 * taking web builds but never an Android one, which waits and says why. A worker whose machine
 * has Java and an Android SDK (here a minimal SDK layout) advertises android and takes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { makeFixtureProject, submitBuild, waitForStatus } from '../helpers/builds.js';
import { delay } from '../helpers/wait.js';

void test('a worker without an Android toolchain never claims an Android build, and the build shows why it waits', async (t) => {
  const controller = await startTestController(t);
  const token = await controller.enrollmentToken();
  // No ANDROID_HOME / ANDROID_SDK_ROOT in its environment: Java alone is not an Android toolchain.
  const webOnly = startTestWorker(t, { url: controller.url, enrollmentToken: token, name: 'web-only' });
  const info = await waitForWorkerOnline(controller.admin, webOnly);
  assert.ok(!info.platforms.includes('android'), `advertised ${info.platforms.join(', ')}`);
  assert.ok(info.platforms.includes('web'));
  assert.equal(info.labels.os, 'linux');
  assert.equal(info.labels.arch, process.arch);

  const project = makeFixtureProject(t, ['echo built']);
  const android = await submitBuild(controller.admin, project, { platform: 'android' });
  const web = await submitBuild(controller.admin, project, { platform: 'web' });
  // The worker is claiming: the web build submitted after the Android one runs and finishes.
  assert.equal((await waitForStatus(controller.admin, web.id, ['succeeded', 'failed'])).status, 'succeeded');
  await delay(1000);

  const waiting = await controller.admin.getBuild(android.id);
  assert.equal(waiting.status, 'queued');
  assert.equal(waiting.attemptCount, 0);
  assert.equal(waiting.queue?.matchingWorkers, 0);
  assert.match(waiting.queue?.reason ?? '', /android/i, `reason: ${waiting.queue?.reason}`);

  // A machine with Java and an Android SDK is detected as able to build it, and takes it.
  const sdk = mkdtempSync(join(tmpdir(), 'buildmesh-e2e-sdk-'));
  t.after(() => rmSync(sdk, { recursive: true, force: true }));
  mkdirSync(join(sdk, 'platform-tools'));
  mkdirSync(join(sdk, 'build-tools', '35.0.0'), { recursive: true });
  const androidWorker = startTestWorker(t, { url: controller.url, enrollmentToken: token, name: 'android', env: { ANDROID_HOME: sdk } });
  const androidInfo = await waitForWorkerOnline(controller.admin, androidWorker);
  assert.ok(androidInfo.platforms.includes('android'), `advertised ${androidInfo.platforms.join(', ')}`);
  const ran = await waitForStatus(controller.admin, android.id, ['succeeded', 'failed']);
  assert.equal(ran.status, 'succeeded');
  assert.equal(ran.attempts?.[0]?.workerName, 'android');
});
