/**
 * Follow-up commands as a developer types them: `latest` and unique id prefixes for status, logs,
 * retry and cancel; empty results that say why ("queued: no log yet", "canceled before it started:
 * no log", "attempt 2 does not exist"); and the corrected texts of the polish list: a literal build id
 * in "cancel it first", "canceled by a user" said once, attempts without a promise of retries,
 * "needs an admin token", and login checking the URL before asking for a token. doctor flags build
 * outputs it would pack, and the default download dir is never packed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, runJson } from './helpers/cli.js';
import { freePort, startMesh } from './helpers/mesh.js';
import { makeFixtureProject } from './helpers/fixture-project.js';

void test('latest and prefixes resolve; empty results and polish-list messages say what is going on', async (t) => {
  const mesh = await startMesh(t); // no worker: the build stays queued
  const env = mesh.env;
  const project = makeFixtureProject(t);

  const submitted = await runCli(['build', '--platform', 'web', '--profile', 'long', '--no-wait', '--json'], { env, cwd: project });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = (JSON.parse(submitted.stdout) as { builds: Array<{ build: { id: string } }> }).builds[0]!.build.id;
  assert.match(submitted.stderr, /warning no online worker can build web/, 'a --no-wait build nobody can take is warned about');

  const latest = await runJson<{ build: { id: string } }>(['status', 'latest', '--json'], { env });
  assert.equal(latest.build.id, id);
  const byPrefix = await runJson<{ build: { id: string } }>(['status', id.slice(4, 14), '--json'], { env });
  assert.equal(byPrefix.build.id, id);
  const badRef = await runCli(['status', 'x!'], { env });
  assert.equal(badRef.code, 2);

  const queuedLog = await runCli(['logs', 'latest'], { env });
  assert.equal(queuedLog.code, 0, queuedLog.stderr);
  assert.match(queuedLog.stderr, new RegExp(`build ${id} is queued: no log yet`));

  const retry = await runCli(['retry', 'latest'], { env });
  assert.notEqual(retry.code, 0);
  assert.match(retry.stderr, new RegExp(`cancel it first with \`[^\`]*cancel ${id}\``), 'the hint names the build, not a literal ID');
  assert.doesNotMatch(retry.stderr, /cancel ID/);

  const cancel = await runCli(['cancel', `bld_${id.slice(4, 12)}`], { env });
  assert.equal(cancel.code, 0, cancel.stderr);

  const canceledLog = await runCli(['logs', id], { env });
  assert.equal(canceledLog.code, 0);
  assert.match(canceledLog.stderr, new RegExp(`build ${id} was canceled before it started: no log`));
  const noAttempt = await runCli(['logs', id, '--attempt', '2'], { env });
  assert.equal(noAttempt.code, 1);
  assert.match(noAttempt.stderr, /error NO_SUCH_ATTEMPT: attempt 2 does not exist \(0 attempts\)/);

  const status = await runCli(['status', id], { env });
  assert.match(status.stdout, /BUILD_CANCELED: canceled by a user/);
  assert.doesNotMatch(status.stdout, /The build was canceled/, 'said once');
  assert.match(status.stdout, /attempts:\s+0\n/, 'an ended build shows its attempts, not "of 3"');

  // A member token asking for an admin route: "an admin token".
  const member = await runJson<{ secret: string }>(['admin', 'token', 'create', 'dev', '--role', 'member', '--json'], { env });
  const forbidden = await runCli(['admin', 'token', 'create', 'other'], { env: { ...env, BUILDMESH_TOKEN: member.secret } });
  assert.notEqual(forbidden.code, 0);
  assert.match(forbidden.stderr, /needs an admin token/);

  // login checks the URL before it asks for (or reads) a token.
  const nobody = `http://127.0.0.1:${await freePort()}`;
  const login = await runCli(['login', '--url', nobody], { env: { XDG_CONFIG_HOME: mesh.configHome } });
  assert.equal(login.code, 1);
  assert.match(login.stderr, /error CONTROLLER_UNREACHABLE/);

  // Downloads in the default dir are never packed; a stray app archive is flagged by doctor.
  mkdirSync(join(project, 'build-artifacts', id), { recursive: true });
  writeFileSync(join(project, 'build-artifacts', id, 'app.apk'), 'x'.repeat(1000));
  writeFileSync(join(project, 'app-release.aab'), 'x'.repeat(1000));
  const doctor = await runCli(['doctor', '--platform', 'web', '--profile', 'test', '--json'], { env, cwd: project });
  const pack = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; message: string; details: { buildOutputs: string[] } }> }).checks.find((c) => c.id === 'pack')!;
  assert.equal(pack.status, 'warn');
  assert.deepEqual(pack.details.buildOutputs, ['app-release.aab']);
  assert.match(pack.message, /1 build output file\(s\).*would be uploaded \(app-release\.aab\): add them to \.easignore or \.gitignore/);
  const human = await runCli(['doctor', '--platform', 'web', '--profile', 'test'], { env, cwd: project });
  assert.doesNotMatch(human.stdout + human.stderr, /No problems found/);
});

void test('doctor says which toolchain the online workers lack for a platform', async (t) => {
  const mesh = await startMesh(t, { worker: true });
  const project = makeFixtureProject(t, {
    'app.json': JSON.stringify({ expo: { name: 'Fixture App', slug: 'fixture-app', platforms: ['web', 'android', 'ios'] } }),
  });
  // The worker runs on this Linux machine: no Xcode; no Android SDK unless ANDROID_HOME is set here.
  const doctor = await runCli(['doctor', '--platform', 'all', '--profile', 'test', '--json'], { env: mesh.env, cwd: project });
  const workers = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; status: string; message: string }> }).checks.find((c) => c.id === 'workers')!;
  assert.equal(workers.status, 'fail', workers.message);
  if (!process.env.ANDROID_HOME && !process.env.ANDROID_SDK_ROOT) assert.match(workers.message, /android: 0 online of 0 able — \S+ lacks (Java \(a JDK on PATH\) and )?an Android SDK \(ANDROID_HOME or ANDROID_SDK_ROOT with platform-tools and build-tools\)/);
  assert.match(workers.message, /ios: 0 online of 0 able — \S+ lacks macOS and Xcode and CocoaPods and fastlane/);
  assert.match(workers.message, /web: 1 online of 1 able/);

  // A custom build that declares no artifacts succeeds, and says which fields declare them.
  const build = await runCli(['build', '--platform', 'web', '--profile', 'slow', '--output', join(mesh.root, 'none')], { env: mesh.env, cwd: project, timeoutMs: 120_000 });
  assert.equal(build.code, 0, build.stderr);
  assert.match(build.stderr, /warning the build produced no artifacts; declare them in eas\.json: `buildArtifactPaths` .*`applicationArchivePath`/);
});
