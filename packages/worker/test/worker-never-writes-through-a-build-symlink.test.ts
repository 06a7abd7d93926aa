/**
 * The worker's own steps (outside the sandbox, as root) that write into the project after build
 * code has run — eas/use_npm_token's .npmrc, FIX_GRADLEW, the signing config applied to
 * android/app/build.gradle — never follow a symlink the build left there (to a host file, or a
 * directory such as /etc), and a FIFO does not hang them. Before, `ln -s /etc/x .npmrc` in one
 * step and `uses: eas/use_npm_token` in the next made the worker write /etc/x as root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { useNpmToken } from '../src/custom/functions/use-npm-token.js';
import type { FunctionRunContext } from '../src/custom/functions/types.js';
import { applyInjectedGradleFile, injectAndroidKeystore, keystorePaths } from '../src/pipelines/android-credentials.js';
import { chmodInside, readFileInside, writeFileInside } from '../src/workspace/inside.js';
import { GRADLE_INIT_FILE } from '../src/pipelines/android.js';
import { planPipeline } from '../src/pipelines/index.js';
import type { PhaseContext } from '../src/runner/plan.js';
import { makeJob } from './support/simple-phase-runner.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function setup(): Promise<{ project: string; victim: string; victimDir: string }> {
  const root = await mkdtemp('/var/tmp/bm-follow-');
  dirs.push(root);
  const project = path.join(root, 'project');
  const victimDir = path.join(root, 'host');
  await mkdir(project);
  await mkdir(victimDir);
  const victim = path.join(victimDir, 'victim');
  await writeFile(victim, 'host file\n', { mode: 0o600 });
  return { project, victim, victimDir };
}

void test('eas/use_npm_token refuses an .npmrc that is a symlink to a host file', async () => {
  const { project, victim } = await setup();
  await symlink(victim, path.join(project, '.npmrc'));
  const ctx = { phase: { projectDir: project, env: { NPM_TOKEN: 'npm_x' }, log: () => {} }, inputs: {}, env: {} } as unknown as FunctionRunContext;
  await assert.rejects(useNpmToken.run!(ctx));
  assert.equal(await readFile(victim, 'utf8'), 'host file\n');
});

void test('the signing config is not appended to a host file through android/app/build.gradle or android/app', async () => {
  const { project, victim, victimDir } = await setup();
  await mkdir(path.join(project, 'android', 'app'), { recursive: true });
  await symlink(victim, path.join(project, 'android', 'app', 'build.gradle'));
  await assert.rejects(applyInjectedGradleFile(path.join(project, 'android')));
  assert.equal(await readFile(victim, 'utf8'), 'host file\n');

  await rm(path.join(project, 'android', 'app'), { recursive: true });
  await symlink(victimDir, path.join(project, 'android', 'app'));
  await writeFile(path.join(victimDir, 'build.gradle'), 'host gradle\n');
  await assert.rejects(applyInjectedGradleFile(path.join(project, 'android')));
  await assert.rejects(writeFileInside(project, path.join(project, 'android', 'app', 'eas-build-inject.gradle'), 'x'));
  assert.equal(await readFile(path.join(victimDir, 'build.gradle'), 'utf8'), 'host gradle\n');
});

void test('FIX_GRADLEW reads, writes and chmods no host file through android/gradlew; a FIFO does not hang it', async () => {
  const { project, victim } = await setup();
  await mkdir(path.join(project, 'android'));
  const gradlew = path.join(project, 'android', 'gradlew');
  await symlink(victim, gradlew);
  await assert.rejects(readFileInside(project, gradlew));
  await assert.rejects(chmodInside(project, gradlew, 0o755));
  assert.equal((await stat(victim)).mode & 0o777, 0o600);
  await rm(gradlew);
  execFileSync('mkfifo', [gradlew]);
  await assert.rejects(readFileInside(project, gradlew), /not a regular file/);
  await assert.rejects(writeFileInside(project, gradlew, 'x'), /not a regular file/);
  // Control: a plain file is read, written and chmodded.
  await rm(gradlew);
  await writeFile(gradlew, 'a\r\n');
  await writeFileInside(project, gradlew, (await readFileInside(project, gradlew)).replace(/\r\n/g, '\n'));
  await chmodInside(project, gradlew, 0o755);
  assert.equal(await readFile(gradlew, 'utf8'), 'a\n');
  assert.equal((await stat(gradlew)).mode & 0o777, 0o755);
});

void test('a second keystore injection (two eas/build steps) writes no host file through a link planted in credentials/', async () => {
  const { project, victim } = await setup();
  const workspaceRoot = path.dirname(project);
  const paths = keystorePaths(workspaceRoot, 'second');
  await mkdir(paths.dir, { recursive: true });
  await symlink(victim, paths.jsonPath);
  await mkdir(path.join(project, 'android', 'app'), { recursive: true });
  await writeFile(path.join(project, 'android', 'app', 'build.gradle'), 'android {}\n');
  const keystore = { keystore: Buffer.from('KEYSTORE'), keystorePassword: 'pw', keyAlias: 'k', source: 'build credentials' as const };
  await assert.rejects(injectAndroidKeystore(keystore, paths, project, () => {}));
  assert.equal(await readFile(victim, 'utf8'), 'host file\n');
  // Control: without the link it is written.
  await rm(paths.jsonPath);
  await injectAndroidKeystore(keystore, paths, project, () => {});
  assert.match(await readFile(paths.jsonPath, 'utf8'), /"keyAlias": "k"/);
});

void test('the Gradle init script is not written through a link a first eas/build left in gradle/', async () => {
  const { project, victim } = await setup();
  const workspaceRoot = path.dirname(project);
  for (const [rel, text] of Object.entries({ 'package.json': '{"name":"a"}', 'android/settings.gradle': '', 'android/build.gradle': '', 'android/app/build.gradle': 'android {}\n', 'android/gradlew': '#!/bin/sh\n' })) {
    await mkdir(path.dirname(path.join(project, rel)), { recursive: true });
    await writeFile(path.join(project, rel), text);
  }
  const plan = await planPipeline({ job: makeJob('android', { withoutCredentials: true }), projectDir: project, workspaceRoot, credentials: null, secrets: {} });
  const step = plan.phases.find((p) => p.name === 'RUN_GRADLEW')!.steps[0]!;
  assert.equal(step.kind, 'task');
  await mkdir(path.join(workspaceRoot, path.dirname(GRADLE_INIT_FILE)), { recursive: true });
  await symlink(victim, path.join(workspaceRoot, GRADLE_INIT_FILE));
  const ctx = { projectDir: project, workspaceRoot, env: {}, log: () => {} } as unknown as PhaseContext;
  await assert.rejects(step.kind === 'task' ? step.run(ctx) : Promise.resolve());
  assert.equal(await readFile(victim, 'utf8'), 'host file\n');
});

void test('a file secret is not written through a link left in secret-files/ by an earlier eas/build', async () => {
  const { project, victim } = await setup();
  const workspaceRoot = path.dirname(project);
  await writeFile(path.join(project, 'package.json'), '{"name":"a"}');
  const plan = await planPipeline({ job: makeJob('web', {}), projectDir: project, workspaceRoot, credentials: null, secrets: {}, fileSecrets: { GOOGLE_SERVICES: Buffer.from('attacker bytes').toString('base64') } });
  const step = plan.phases.find((p) => p.name === 'PREPARE_SECRET_FILES')!.steps[0]!;
  await mkdir(path.join(workspaceRoot, 'secret-files'), { recursive: true });
  await symlink(victim, path.join(workspaceRoot, 'secret-files', 'GOOGLE_SERVICES'));
  const ctx = { projectDir: project, workspaceRoot, env: {}, log: () => {} } as unknown as PhaseContext;
  await assert.rejects(step.kind === 'task' ? step.run(ctx) : Promise.resolve());
  assert.equal(await readFile(victim, 'utf8'), 'host file\n');
});
