// A file secret works as on EAS: `googleServicesFile: process.env.GOOGLE_SERVICES_JSON` in
// app.config.js gets the path of a file holding the secret's content, readable when prebuild runs,
// outside the project (so it is never packed into an artifact), and gone when the build ends —
// after a failure too. The profile's prebuildCommand stands in for `expo prebuild`: it evaluates
// app.config.js and copies googleServicesFile to android/app/google-services.json, as prebuild does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planPipeline } from '../src/pipelines/index.js';
import { makeJob, makeTempDir, runPlanSimply } from './support/simple-phase-runner.js';

const GOOGLE_SERVICES = JSON.stringify({ project_info: { project_id: 'secret-project', project_number: '1234' } }, null, 2);

const APP_CONFIG = `module.exports = () => ({
  expo: { name: 'app', slug: 'app', android: { package: 'dev.buildmesh.app', googleServicesFile: process.env.GOOGLE_SERVICES_JSON } },
});
`;

const PREBUILD_STAND_IN = `const fs = require('fs');
const config = require('./app.config.js')().expo;
const file = config.android.googleServicesFile;
if (!file || !fs.existsSync(file)) { console.error('googleServicesFile is not a readable path: ' + JSON.stringify(file)); process.exit(1); }
fs.mkdirSync('android/app', { recursive: true });
fs.copyFileSync(file, 'android/app/google-services.json');
if (process.env.FAIL_AFTER_PREBUILD) process.exit(2);
`;

async function build(t: { after(fn: () => void): void }, extraEnv: Record<string, string> = {}) {
  const workspaceRoot = makeTempDir(t);
  const projectDir = join(workspaceRoot, 'project');
  mkdirSync(projectDir);
  writeFileSync(join(projectDir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, packageManager: 'npm@10.0.0' }));
  writeFileSync(join(projectDir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0' } } }));
  writeFileSync(join(projectDir, 'app.config.js'), APP_CONFIG);
  writeFileSync(join(projectDir, 'prebuild.js'), PREBUILD_STAND_IN);
  const job = makeJob('android', { prebuildCommand: 'node prebuild.js', env: extraEnv });
  const plan = await planPipeline({
    job, projectDir, workspaceRoot, credentials: null, secrets: { PLAIN: 'value' },
    fileSecrets: { GOOGLE_SERVICES_JSON: Buffer.from(GOOGLE_SERVICES).toString('base64') },
  });
  // Up to prebuild, then the phases that end every build (Gradle is not what this test is about).
  const wanted = new Set(['PREPARE_SECRET_FILES', 'INSTALL_DEPENDENCIES', 'PREBUILD', 'ON_BUILD_ERROR_HOOK', 'REMOVE_SECRET_FILES']);
  const run = await runPlanSimply({ ...plan, phases: plan.phases.filter((p) => wanted.has(p.name)) }, job, projectDir, workspaceRoot);
  return { plan, run, projectDir, workspaceRoot };
}

void test('a file secret used as googleServicesFile in app.config.js reaches prebuild as a readable path, then is removed', async (t) => {
  const { plan, run, projectDir, workspaceRoot } = await build(t);
  const path = plan.env.GOOGLE_SERVICES_JSON!;
  assert.equal(path, join(workspaceRoot, 'secret-files', 'GOOGLE_SERVICES_JSON'), 'the variable holds a path, not the content');
  assert.ok(!path.startsWith(projectDir + '/'), 'outside the project');
  assert.equal(plan.env.PLAIN, 'value', 'string secrets stay values');
  // The log masks the file's content line by line (the runner's masker works per line).
  assert.ok(plan.redact.includes('"project_id": "secret-project",'), JSON.stringify(plan.redact));
  assert.ok(plan.redact.includes(Buffer.from(GOOGLE_SERVICES).toString('base64')));
  assert.equal(run.succeeded, true, JSON.stringify(run.phases.map((p) => [p.name, p.result, p.lines.slice(-5)]), null, 2));
  assert.equal(readFileSync(join(projectDir, 'android', 'app', 'google-services.json'), 'utf8'), GOOGLE_SERVICES);
  assert.deepEqual(plan.phases.map((p) => p.name).slice(0, 2), ['PREPARE_SECRET_FILES', 'READ_EAS_JSON']);
  assert.equal(plan.phases.at(-1)?.name, 'REMOVE_SECRET_FILES');
  assert.equal(plan.phases.at(-1)?.always, 'always');
  assert.ok(!existsSync(path) && !existsSync(join(workspaceRoot, 'secret-files')), 'removed when the build ended');
});

void test('the file is private to the build while it runs and removed after a failure too', async (t) => {
  const { plan, run, workspaceRoot } = await build(t, { FAIL_AFTER_PREBUILD: '1' });
  assert.equal(run.succeeded, false);
  assert.equal(run.phases.find((p) => p.name === 'PREBUILD')?.result, 'failed');
  assert.equal(run.phases.find((p) => p.name === 'REMOVE_SECRET_FILES')?.result, 'success');
  assert.ok(!existsSync(plan.env.GOOGLE_SERVICES_JSON!));
  // While written: 0600 in a 0700 folder (checked by writing again through the phase).
  const prepare = plan.phases.find((p) => p.name === 'PREPARE_SECRET_FILES')!.steps[0]!;
  assert.equal(prepare.kind, 'task');
  if (prepare.kind === 'task') await prepare.run({ log: () => {} } as never);
  assert.equal(statSync(plan.env.GOOGLE_SERVICES_JSON!).mode & 0o777, 0o600);
  assert.equal(statSync(join(workspaceRoot, 'secret-files')).mode & 0o777, 0o700);
});
