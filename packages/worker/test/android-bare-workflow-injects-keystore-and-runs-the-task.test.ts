// A bare-workflow project (android/ committed) builds the way EAS builds it: dependencies are
// installed with the project's lockfile, prebuild is skipped, gradlew is repaired, the keystore is
// injected into the release signing config, `./gradlew <task>` runs with the task the profile
// picks, and the apk/aab is found by the default artifact glob. The fixture's gradlew stands in
// for Gradle and fails unless the signing setup is really there (fixtures/bare-android/android/gradlew).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { glob } from 'tinyglobby';
import type { CredentialsBundle, ResolvedProfile } from '@buildmesh/protocol';
import { planPipeline, PipelineError } from '../src/pipelines/index.js';
import { applyInjectedGradleFile } from '../src/pipelines/android-credentials.js';
import { makeJob, makeTempDir, runPlanSimply } from './support/simple-phase-runner.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'bare-android');
const KEYSTORE_CONTENT = 'not a real keystore: the stand-in gradlew only compares bytes';
const SIGNING = { keystorePassword: 'store-secret-1', keyAlias: 'upload', keyPassword: 'key-secret-2' };
const CREDENTIALS: CredentialsBundle = {
  android: { keystore: { keystoreBase64: Buffer.from(KEYSTORE_CONTENT).toString('base64'), ...SIGNING } },
};
/** What the stand-in gradlew checks the credentials JSON against. */
const EXPECTED_ENV = {
  EXPECTED_KEYSTORE_CONTENT: KEYSTORE_CONTENT,
  EXPECTED_KEYSTORE_PASSWORD: SIGNING.keystorePassword,
  EXPECTED_KEY_ALIAS: SIGNING.keyAlias,
  EXPECTED_KEY_PASSWORD: SIGNING.keyPassword,
};

/** RUN_GRADLEW's command line for a task, as EAS runs it (with --profile) plus the init script. */
const gradlewCommand = (task: string) => ['bash', '-c', `./gradlew ${task} --profile --init-script "$BUILDMESH_GRADLE_INIT"`];

/** A fresh copy of the fixture, with gradlew as a Windows checkout leaves it: CRLF, not executable. */
function checkout(t: { after(fn: () => void): void }): { projectDir: string; workspaceRoot: string } {
  const workspaceRoot = makeTempDir(t);
  const projectDir = join(workspaceRoot, 'project');
  cpSync(FIXTURE, projectDir, { recursive: true });
  const gradlew = join(projectDir, 'android', 'gradlew');
  writeFileSync(gradlew, readFileSync(gradlew, 'utf8').replace(/\n/g, '\r\n'), { mode: 0o644 });
  return { projectDir, workspaceRoot };
}

async function build(
  t: { after(fn: () => void): void },
  profile: Partial<ResolvedProfile>,
  credentials: CredentialsBundle | null = CREDENTIALS,
  prepare?: (projectDir: string) => void,
) {
  const { projectDir, workspaceRoot } = checkout(t);
  prepare?.(projectDir);
  const job = makeJob('android', { ...profile, env: { ...EXPECTED_ENV, ...profile.env } });
  const plan = await planPipeline({ job, projectDir, workspaceRoot, credentials, secrets: {}, totalMemBytes: 16 * 1024 ** 3 });
  const run = await runPlanSimply(plan, job, projectDir, workspaceRoot);
  const artifacts = await glob(plan.artifacts.applicationArchive, { cwd: projectDir });
  return { plan, run, artifacts, projectDir, workspaceRoot };
}

void test('default profile: installs, skips prebuild, injects the keystore, runs :app:bundleRelease, finds the aab', async (t) => {
  const { plan, run, artifacts, projectDir, workspaceRoot } = await build(t, {});
  assert.equal(run.succeeded, true, JSON.stringify(run.error ?? run.phases.filter((p) => p.result !== 'success'), null, 2));

  assert.deepEqual(plan.phases.map((p) => p.name), [
    'READ_EAS_JSON', 'READ_PACKAGE_JSON', 'INSTALL_DEPENDENCIES', 'FIX_GRADLEW', 'POST_INSTALL_HOOK',
    'PREPARE_CREDENTIALS', 'RUN_GRADLEW', 'ON_BUILD_SUCCESS_HOOK', 'ON_BUILD_ERROR_HOOK', 'ON_BUILD_COMPLETE_HOOK', 'ON_BUILD_COMPLETE_HOOK',
  ]);
  assert.ok(!plan.phases.some((p) => p.name === 'PREBUILD'), 'android/ was committed: no prebuild');
  assert.deepEqual(run.commands, [
    ['npm', 'ci', '--include=dev'],
    ['npm', 'run', 'eas-build-post-install'],
    gradlewCommand(':app:bundleRelease'),
    ['npm', 'run', 'eas-build-on-success'],
    ['npm', 'run', 'eas-build-on-complete'],
  ]);

  // Install really ran (the local dependency is linked) and the hooks saw the build's env.
  assert.equal(readFileSync(join(projectDir, 'node_modules', 'tiny-dep', 'index.js'), 'utf8'), "module.exports = 'tiny';\n");
  assert.equal(readFileSync(join(projectDir, 'hook-post-install.txt'), 'utf8'), 'production');
  assert.ok(existsSync(join(projectDir, 'hook-on-success.txt')));
  assert.ok(existsSync(join(projectDir, 'hook-on-complete.txt')));
  assert.ok(!existsSync(join(projectDir, 'hook-on-error.txt')));

  // FIX_GRADLEW repaired the Windows-style checkout.
  const gradlew = join(projectDir, 'android', 'gradlew');
  assert.ok(!readFileSync(gradlew, 'utf8').includes('\r'));
  assert.equal(statSync(gradlew).mode & 0o111, 0o111);

  // The keystore and its JSON live outside the project, private to the worker's user.
  const credentialsJsonPath = plan.env.BUILDMESH_ANDROID_CREDENTIALS!;
  assert.equal(credentialsJsonPath, join(workspaceRoot, 'credentials', 'credentials.json'));
  const credentialsJson = JSON.parse(readFileSync(credentialsJsonPath, 'utf8'));
  assert.match(credentialsJson.keystorePath, new RegExp(`^${workspaceRoot}/credentials/keystore-[0-9a-f-]{36}\\.jks$`));
  assert.deepEqual({ ...credentialsJson, keystorePath: undefined }, { ...SIGNING, keystorePath: undefined });
  assert.equal(statSync(credentialsJsonPath).mode & 0o777, 0o600);
  assert.equal(statSync(credentialsJson.keystorePath).mode & 0o777, 0o600);
  assert.equal(statSync(join(workspaceRoot, 'credentials')).mode & 0o777, 0o700);
  assert.deepEqual(plan.redact.sort(), [SIGNING.keyPassword, SIGNING.keystorePassword].sort());
  const gradleFile = readFileSync(join(projectDir, 'android', 'app', 'eas-build-inject-android-credentials.gradle'), 'utf8');
  assert.ok(!gradleFile.includes(SIGNING.keystorePassword) && !gradleFile.includes(SIGNING.keyPassword), 'no password in the project');
  assert.ok(!run.commands.flat().some((arg) => arg.includes(SIGNING.keystorePassword)), 'no password in argv');

  // Applying twice leaves one apply line.
  assert.equal(await applyInjectedGradleFile(join(projectDir, 'android')), 'present');
  const buildGradle = readFileSync(join(projectDir, 'android', 'app', 'build.gradle'), 'utf8');
  assert.equal(buildGradle.split('eas-build-inject-android-credentials.gradle').length - 1, 1);

  assert.deepEqual(plan.artifacts, { applicationArchive: ['android/app/build/outputs/**/*.{apk,aab}'], buildArtifacts: [] });
  assert.deepEqual(artifacts, ['android/app/build/outputs/bundle/release/app-release.aab']);
});

void test('buildType apk runs :app:assembleRelease and collects the apk', async (t) => {
  const { run, artifacts } = await build(t, { buildType: 'apk' });
  assert.equal(run.succeeded, true, JSON.stringify(run.error));
  assert.ok(run.commands.some((c) => c.join(' ') === gradlewCommand(':app:assembleRelease').join(' ')));
  assert.deepEqual(artifacts, ['android/app/build/outputs/apk/release/app-release.apk']);
});

void test('distribution internal without buildType runs :app:assembleRelease and collects an installable apk, as eas-cli decides', async (t) => {
  const { run, artifacts } = await build(t, { distribution: 'internal' });
  assert.equal(run.succeeded, true, JSON.stringify(run.error));
  assert.ok(run.commands.some((c) => c.join(' ') === gradlewCommand(':app:assembleRelease').join(' ')));
  assert.deepEqual(artifacts, ['android/app/build/outputs/apk/release/app-release.apk']);
});

void test('the Gradle step gets GRADLE_OPTS (heap a quarter of RAM, metaspace, parallel, no daemon), NODE_OPTIONS and the init script, and runs with --profile', async (t) => {
  const { plan, run, projectDir, workspaceRoot } = await build(t, {});
  assert.equal(run.succeeded, true, JSON.stringify(run.error));
  // What the fixture's gradlew saw in its environment (16 GiB machine: 4 GiB heap for Gradle, 8 GiB for Node).
  const seen = Object.fromEntries(
    readFileSync(join(projectDir, 'android', 'app', 'build', 'gradlew-env.txt'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  assert.equal(
    seen.GRADLE_OPTS,
    '-Dorg.gradle.jvmargs="-Xmx4096m -XX:MaxMetaspaceSize=1g -XX:+HeapDumpOnOutOfMemoryError -Dfile.encoding=UTF-8" -Dorg.gradle.parallel=true -Dorg.gradle.daemon=false',
  );
  assert.equal(seen.NODE_OPTIONS, '--max-old-space-size=8192');
  assert.equal(seen.INIT_SCRIPT_EXISTS, 'yes');
  const args = readFileSync(join(projectDir, 'android', 'app', 'build', 'gradlew-args.txt'), 'utf8').trim().split('\n');
  const initScript = join(workspaceRoot, 'gradle', 'buildmesh-init.gradle');
  assert.deepEqual(args, [':app:bundleRelease', '--profile', '--init-script', initScript]);
  const init = readFileSync(initScript, 'utf8');
  assert.match(init, /allprojects \{[\s\S]*repositories \{\s*google\(\)\s*mavenCentral\(\)/);
  assert.ok(!initScript.startsWith(projectDir), 'the init script lives outside the project');
  // A profile's own NODE_OPTIONS heap is kept.
  const own = await planPipeline({
    job: makeJob('android', { env: { NODE_OPTIONS: '--max-old-space-size=12000 --enable-source-maps' } }),
    projectDir, workspaceRoot, credentials: null, secrets: {}, totalMemBytes: 16 * 1024 ** 3,
  });
  assert.equal(own.env.NODE_OPTIONS, '--max-old-space-size=12000 --enable-source-maps');
  assert.equal(plan.env.NODE_OPTIONS, '--max-old-space-size=8192');
});

void test('a legacy android/app/eas-build.gradle finds the keystore in $EAS_BUILD_WORKINGDIR/credentials.json (EAS nested format), removed after', async (t) => {
  // A Gradle stand-in that signs the way eas-build.gradle does: only from the project's credentials.json.
  const legacyGradlew = `#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")"
node -e '
  const fs = require("fs");
  const c = JSON.parse(fs.readFileSync(process.env.EAS_BUILD_WORKINGDIR + "/credentials.json", "utf8")).android.keystore;
  const e = process.env;
  if (fs.readFileSync(c.keystorePath, "utf8") !== e.EXPECTED_KEYSTORE_CONTENT || c.keyAlias !== e.EXPECTED_KEY_ALIAS || c.keystorePassword !== e.EXPECTED_KEYSTORE_PASSWORD || c.keyPassword !== e.EXPECTED_KEY_PASSWORD) {
    console.error("legacy signing does not match"); process.exit(1);
  }
'
mkdir -p app/build/outputs/bundle/release && echo signed > app/build/outputs/bundle/release/app-release.aab
`;
  const { plan, run, artifacts, projectDir } = await build(t, {}, CREDENTIALS, (dir) => {
    writeFileSync(join(dir, 'android', 'app', 'eas-build.gradle'), '// legacy: reads ../credentials.json\n');
    writeFileSync(join(dir, 'android', 'gradlew'), legacyGradlew);
  });
  assert.equal(run.succeeded, true, JSON.stringify(run.error ?? run.phases.filter((p) => p.result !== 'success').map((p) => [p.name, p.lines.slice(-5)]), null, 2));
  assert.deepEqual(artifacts, ['android/app/build/outputs/bundle/release/app-release.aab']);
  assert.equal(plan.phases.find((p) => p.name === 'REMOVE_LEGACY_CREDENTIALS')?.always, 'always');
  assert.ok(!existsSync(join(projectDir, 'credentials.json')), 'the passwords do not stay in the project');
});

void test('developmentClient runs :app:assembleDebug, whatever the buildType', async (t) => {
  const { run, artifacts } = await build(t, { developmentClient: true, buildType: 'app-bundle' });
  assert.equal(run.succeeded, true, JSON.stringify(run.error));
  assert.ok(run.commands.some((c) => c.join(' ') === gradlewCommand(':app:assembleDebug').join(' ')));
  assert.deepEqual(artifacts, ['android/app/build/outputs/apk/debug/app-debug.apk']);
});

void test('gradleCommand wins over buildType and developmentClient; applicationArchivePath replaces the default glob', async (t) => {
  const { plan, run, artifacts, projectDir } = await build(t, {
    developmentClient: true,
    buildType: 'apk',
    gradleCommand: ':app:bundleRelease --offline',
    applicationArchivePath: 'android/app/build/outputs/bundle/**/*.aab',
    buildArtifactPaths: ['android/app/build/gradlew-args.txt'],
  });
  assert.equal(run.succeeded, true, JSON.stringify(run.error));
  assert.equal(
    readFileSync(join(projectDir, 'android', 'app', 'build', 'gradlew-args.txt'), 'utf8'),
    `:app:bundleRelease\n--offline\n--profile\n--init-script\n${plan.phases.find((p) => p.name === 'RUN_GRADLEW')!.steps.map((st) => st.kind === 'command' ? st.command.env?.BUILDMESH_GRADLE_INIT : '').join('')}\n`,
  );
  assert.deepEqual(plan.artifacts.buildArtifacts, ['android/app/build/gradlew-args.txt']);
  assert.deepEqual(artifacts, ['android/app/build/outputs/bundle/release/app-release.aab']);
});

void test('credentialsSource local reads credentials.json, and refuses a keystore path outside the project', async (t) => {
  const local = (keystorePath: string) => (projectDir: string) => {
    writeFileSync(join(projectDir, 'android', 'keystores-release.jks'), KEYSTORE_CONTENT);
    writeFileSync(join(projectDir, 'credentials.json'), JSON.stringify({ android: { keystore: { keystorePath, ...SIGNING } } }));
  };
  const { run, artifacts } = await build(t, { credentialsSource: 'local' }, null, local('android/keystores-release.jks'));
  assert.equal(run.succeeded, true, JSON.stringify(run.error));
  assert.deepEqual(artifacts, ['android/app/build/outputs/bundle/release/app-release.aab']);

  await assert.rejects(
    build(t, { credentialsSource: 'local' }, null, local('../../../etc/passwd')),
    (err: unknown) => err instanceof PipelineError && err.code === 'CREDENTIALS_MISSING' && /outside the project/.test(err.message),
  );
});

void test('a wrong key alias fails RUN_GRADLEW as SIGNING_MISMATCH; the on-error and on-complete hooks still run', async (t) => {
  const { run, artifacts, projectDir } = await build(t, { env: { EXPECTED_KEY_ALIAS: 'another-alias' } });
  assert.equal(run.succeeded, false);
  assert.equal(run.error?.phase, 'RUN_GRADLEW');
  assert.equal(run.error?.code, 'SIGNING_MISMATCH');
  assert.deepEqual(run.phases.filter((p) => p.name.endsWith('_HOOK') && p.name !== 'POST_INSTALL_HOOK').map((p) => [p.name, p.result]), [
    ['ON_BUILD_SUCCESS_HOOK', 'skipped'],
    ['ON_BUILD_ERROR_HOOK', 'success'],
    ['ON_BUILD_COMPLETE_HOOK', 'skipped'],
    ['ON_BUILD_COMPLETE_HOOK', 'success'],
  ]);
  assert.ok(existsSync(join(projectDir, 'hook-on-error.txt')));
  assert.deepEqual(artifacts, []);
});

void test('a package.json out of sync with package-lock.json fails INSTALL_DEPENDENCIES as LOCKFILE_OUT_OF_SYNC', async (t) => {
  const { run } = await build(t, {}, CREDENTIALS, (projectDir) => {
    // A local dependency moved on without the lockfile (a registry one would need the network).
    mkdirSync(join(projectDir, 'vendor', 'tiny-dep-2'));
    writeFileSync(join(projectDir, 'vendor', 'tiny-dep-2', 'package.json'), '{ "name": "tiny-dep", "version": "2.0.0" }');
    const pkg = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8'));
    pkg.dependencies['tiny-dep'] = 'file:./vendor/tiny-dep-2';
    writeFileSync(join(projectDir, 'package.json'), JSON.stringify(pkg, null, 2));
  });
  assert.equal(run.error?.phase, 'INSTALL_DEPENDENCIES');
  assert.equal(run.error?.code, 'LOCKFILE_OUT_OF_SYNC');
});

void test('commands get the EAS build env: identity variables fixed, secrets over the profile env, NODE_ENV not forced', async (t) => {
  const { projectDir, workspaceRoot } = checkout(t);
  const job = makeJob('android', { env: { API_URL: 'https://profile.example', FROM_PROFILE: '1', EAS_BUILD_PROFILE: 'spoofed' } });
  job.build.submittedBy = 'ci-token';
  const plan = await planPipeline({
    job, projectDir, workspaceRoot, credentials: null, secrets: { API_URL: 'https://secret.example' }, totalMemBytes: 8 * 1024 ** 3,
  });
  const b = job.build;
  assert.deepEqual(
    { ...plan.env },
    {
      CI: '1',
      LANG: 'en_US.UTF-8',
      NODE_OPTIONS: '--max-old-space-size=4096',
      API_URL: 'https://secret.example',
      FROM_PROFILE: '1',
      EAS_BUILD: 'true',
      EAS_BUILD_RUNNER: 'buildmesh',
      EAS_BUILD_ID: b.id,
      EAS_BUILD_PLATFORM: 'android',
      EAS_BUILD_PROFILE: 'production',
      EAS_BUILD_WORKINGDIR: projectDir,
      EAS_BUILD_PROJECT_ID: b.project,
      EAS_BUILD_USERNAME: 'ci-token',
      BUILDMESH_BUILD_ID: b.id,
      BUILDMESH_ATTEMPT: '1',
    },
  );
  assert.ok(!('NODE_ENV' in plan.env));
  // Without credentials nothing is injected: the project's own signing config applies.
  assert.deepEqual(plan.phases.find((p) => p.name === 'PREPARE_CREDENTIALS')?.steps.map((st) => st.kind === 'task' && st.describe), ['no keystore to inject']);
});
