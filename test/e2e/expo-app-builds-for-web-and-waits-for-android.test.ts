/**
 * A real Expo SDK 57 blank app through a real controller and worker: the web
 * build runs the pipeline (npm ci, expo export) and its artifact unpacks to an
 * index.html and JS bundles with the sha256 the API reports; the android build
 * of the same app is never claimed by this Linux worker without an Android SDK,
 * and says why it waits.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { extract } from 'tar';
import { readEasJson, resolveBuildProfile } from '../../packages/cli/src/eas-json.js';
import { startTestController } from '../helpers/controller.js';
import { startTestWorker, waitForWorkerOnline } from '../helpers/worker.js';
import { outputLines, readAllLogs, waitForStatus } from '../helpers/builds.js';
import { packLikeTheCli, prepareExpoApp } from '../helpers/expo-fixture.js';
import { bytesOf } from '../helpers/bytes.js';

test('an Expo SDK 57 app builds for web through the mesh; its android build waits with a reason', { timeout: 20 * 60_000 }, async (t) => {
  const app = prepareExpoApp();
  const controller = await startTestController(t, { timing: { leaseTtlMs: 30_000, heartbeatIntervalMs: 1000 } });
  const worker = startTestWorker(t, { url: controller.url, enrollmentToken: await controller.enrollmentToken() });
  const info = await waitForWorkerOnline(controller.admin, worker);
  assert.deepEqual(info.platforms, ['web'], 'a Linux worker without an Android SDK or Xcode advertises web only');

  const easJson = await readEasJson(app);
  const web = await controller.admin.createBuild(
    { project: 'expo-blank', platform: 'web', profile: resolveBuildProfile(easJson, 'production', 'web').profile },
    await packLikeTheCli(app),
  );
  const android = await controller.admin.createBuild(
    { project: 'expo-blank', platform: 'android', profile: resolveBuildProfile(easJson, 'production', 'android').profile },
    await packLikeTheCli(app),
  );

  const done = await waitForStatus(controller.admin, web.id, ['succeeded', 'failed', 'timed_out', 'canceled'], 15 * 60_000);
  const log = await readAllLogs(controller.admin, web.id);
  assert.equal(done.status, 'succeeded', `web build ${done.status}: ${JSON.stringify(done.error)}\n${outputLines(log).slice(-40).join('\n')}`);
  const phases = log.filter((e) => e.marker === 'START_PHASE').map((e) => e.phase);
  for (const phase of ['PREPARE_PROJECT', 'INSTALL_DEPENDENCIES', 'EXPORT_WEB']) {
    assert.ok(phases.includes(phase), `phase ${phase} missing from ${phases.join(', ')}`);
  }

  const { artifacts } = await controller.admin.listArtifacts(web.id);
  const archive = artifacts.find((a) => a.kind === 'application-archive');
  assert.ok(archive, `no application archive among ${JSON.stringify(artifacts)}`);
  const response = await controller.admin.downloadArtifact(web.id, archive.id);
  const bytes = await bytesOf(response);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  assert.equal(sha256, archive.sha256);
  assert.equal(response.header('x-buildmesh-sha256'), sha256);

  const out = mkdtempSync(join(tmpdir(), 'buildmesh-web-artifact-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  writeFileSync(join(out, 'web.tar.gz'), bytes);
  await extract({ file: join(out, 'web.tar.gz'), cwd: out });
  const files = readdirSync(out, { recursive: true }).map(String);
  assert.ok(files.includes('index.html'), `no index.html in ${files.join(', ')}`);
  assert.ok(files.some((f) => /_expo\/static\/js\/web\/.+\.js$/.test(f)), `no JS bundle in ${files.join(', ')}`);

  // Meanwhile the android build of the same app was never taken, and says why.
  const waiting = await controller.admin.getBuild(android.id);
  assert.equal(waiting.status, 'queued');
  assert.equal(waiting.attemptCount, 0);
  assert.match(waiting.queue?.reason ?? '', /no enrolled worker can build android/);
});
