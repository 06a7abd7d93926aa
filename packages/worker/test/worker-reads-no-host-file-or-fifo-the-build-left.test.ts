/**
 * What the worker reads from the project after build code ran (outside the sandbox, as root) can
 * be a symlink to a host file, a FIFO or a symlink to /dev/zero by then:
 *  - READ_EAS_JSON logs eas.json after PRE_INSTALL_HOOK (the project's eas-build-pre-install
 *    script): a hook that replaced eas.json by a symlink to a host file got that file into the log;
 *  - SAVE_CACHE re-read package.json and the lockfile (readFileSync for yarn's flavour): a FIFO
 *    there blocked the worker's event loop for good (every slot, every heartbeat). It now saves
 *    under what RESTORE_CACHE read before any build code ran;
 *  - a custom build's eas/prebuild or eas/install_node_modules reads package.json (and the
 *    lockfile, and package.json files up to the source root) at that step, after the build's own
 *    steps: a FIFO or a link to /dev/zero there hung or exhausted the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planPipeline } from '../src/pipelines/index.js';
import { makeJob, makeTempDir, runPlanSimply } from './support/simple-phase-runner.js';

void test('READ_EAS_JSON does not log a host file that the pre-install hook linked as eas.json', async (t) => {
  const dir = makeTempDir(t);
  const host = join(dir, 'host-secret');
  writeFileSync(host, 'root:HOST-SHADOW-LINE:19000::::::\n', { mode: 0o600 });
  const projectDir = join(dir, 'project');
  spawnSync('mkdir', [projectDir]);
  writeFileSync(join(projectDir, 'eas.json'), '{"build":{"production":{}}}\n');
  writeFileSync(join(projectDir, 'package.json'), JSON.stringify({ name: 'p', scripts: { 'eas-build-pre-install': `rm eas.json && ln -s ${host} eas.json` } }));
  writeFileSync(join(projectDir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
  const job = makeJob('android', {});
  const plan = await planPipeline({ job, projectDir, workspaceRoot: dir, credentials: null, secrets: {} });
  const phases = plan.phases.filter((p) => p.name === 'PRE_INSTALL_HOOK' || p.name === 'READ_EAS_JSON');
  assert.deepEqual(phases.map((p) => p.name), ['PRE_INSTALL_HOOK', 'READ_EAS_JSON']);
  const run = await runPlanSimply({ ...plan, phases }, job, projectDir, dir);
  const lines = run.phases.flatMap((p) => p.lines).join('\n');
  assert.equal(run.phases[0]!.result, 'success', lines);
  assert.doesNotMatch(lines, /HOST-SHADOW-LINE/);
});

void test('SAVE_CACHE finishes when the build left FIFOs as package.json and yarn.lock', (t) => {
  const dir = makeTempDir(t);
  const script = join(dir, 'save.mts');
  const phases = fileURLToPath(new URL('../src/cache/phases.ts', import.meta.url));
  const store = fileURLToPath(new URL('../src/cache/store.ts', import.meta.url));
  const support = fileURLToPath(new URL('./support/simple-phase-runner.ts', import.meta.url));
  writeFileSync(
    script,
    `import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restoreCaches, saveCaches } from ${JSON.stringify(phases)};
import { CacheStore } from ${JSON.stringify(store)};
import { makeJob } from ${JSON.stringify(support)};
const dir = ${JSON.stringify(dir)};
const projectDir = join(dir, 'project'), homeDir = join(dir, 'home');
mkdirSync(projectDir); mkdirSync(homeDir);
writeFileSync(join(projectDir, 'package.json'), '{"name":"p"}');
writeFileSync(join(projectDir, 'yarn.lock'), '# yarn lockfile v1\\n');
const store = new CacheStore(join(dir, 'cache'), 1e9);
await store.init();
const job = makeJob('android', {});
job.build.orgId = 'org_fifo';
const options = { store, job, homeDir };
const log = (line: string) => console.log(line);
await restoreCaches(options, { projectDir, log });
// What the build does meanwhile, inside its sandbox.
mkdirSync(join(homeDir, '.cache', 'yarn'), { recursive: true });
writeFileSync(join(homeDir, '.cache', 'yarn', 'pkg'), 'x');
for (const name of ['package.json', 'yarn.lock']) { rmSync(join(projectDir, name)); execFileSync('mkfifo', [join(projectDir, name)]); }
await saveCaches(options, { projectDir, log });
console.log('SAVE_DONE');
`,
  );
  const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
  const result = spawnSync(tsx, [script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(result.signal, null, `SAVE_CACHE hung on a FIFO (killed after 30 s): ${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /SAVE_DONE/, result.stderr);
  assert.match(result.stdout, /saved ~\/\.cache\/yarn/);
});

void test('the plan context of a late eas/install_node_modules refuses FIFOs and links instead of hanging', (t) => {
  const dir = makeTempDir(t);
  const script = join(dir, 'context.mts');
  const context = fileURLToPath(new URL('../src/pipelines/context.ts', import.meta.url));
  const pm = fileURLToPath(new URL('../src/pipelines/package-manager.ts', import.meta.url));
  const support = fileURLToPath(new URL('./support/simple-phase-runner.ts', import.meta.url));
  writeFileSync(
    script,
    `import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPlanContext } from ${JSON.stringify(context)};
import { detectInstallPackageManager, resolveInstallDir } from ${JSON.stringify(pm)};
import { makeJob } from ${JSON.stringify(support)};
const dir = ${JSON.stringify(dir)};
const root = join(dir, 'repo'), app = join(root, 'apps', 'm');
mkdirSync(app, { recursive: true });
const job = makeJob('android', {});
const input = { job, projectDir: app, workspaceRoot: dir, credentials: null, secrets: {} };
execFileSync('mkfifo', [join(app, 'package.json')]);
console.log('fifo:', await createPlanContext(input).then(() => 'read', (e) => e.code));
execFileSync('rm', [join(app, 'package.json')]);
symlinkSync('/dev/zero', join(app, 'package.json'));
console.log('zero:', await createPlanContext(input).then(() => 'read', (e) => e.code));
execFileSync('rm', [join(app, 'package.json')]);
writeFileSync(join(app, 'package.json'), '{"name":"m"}');
writeFileSync(join(app, 'yarn.lock'), '');
execFileSync('rm', [join(app, 'yarn.lock')]);
execFileSync('mkfifo', [join(app, 'yarn.lock')]);
execFileSync('mkfifo', [join(root, 'package.json')]);
console.log('pm:', detectInstallPackageManager(resolveInstallDir(root, app), app, { name: 'm' }).name);
console.log('DONE');
`,
  );
  const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
  const result = spawnSync(tsx, [script], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
  assert.equal(result.signal, null, `hung on a FIFO (killed after 30 s): ${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /fifo: INSTALL_FAILED/, result.stderr);
  assert.match(result.stdout, /zero: INSTALL_FAILED/, result.stderr);
  assert.match(result.stdout, /pm: yarn\nDONE/, result.stderr);
});

void test('EXPORT_WEB neither packs nor writes into a host folder the export linked as dist/ or build/', async (t) => {
  const dir = makeTempDir(t);
  const host = join(dir, 'host');
  spawnSync('mkdir', ['-p', host]);
  writeFileSync(join(host, 'index.html'), '<p>host page</p>');
  writeFileSync(join(host, 'HOST-SECRET.txt'), 'secret');
  const projectDir = join(dir, 'project');
  spawnSync('mkdir', ['-p', join(projectDir, 'node_modules', '.bin')]);
  writeFileSync(join(projectDir, 'package.json'), JSON.stringify({ name: 'p', dependencies: { expo: '1.0.0' } }));
  // The project's own expo (its code): exports, then puts a link to a host folder in place of dist/.
  const expo = join(projectDir, 'node_modules', '.bin', 'expo');
  writeFileSync(expo, `#!/bin/sh\nrm -rf dist; ln -s ${host} dist\n`, { mode: 0o755 });
  const job = makeJob('web', {});
  const plan = await planPipeline({ job, projectDir, workspaceRoot: dir, credentials: null, secrets: {} });
  const run = await runPlanSimply({ ...plan, phases: plan.phases.filter((p) => p.name === 'EXPORT_WEB') }, job, projectDir, dir);
  const lines = run.phases.flatMap((p) => p.lines).join('\n');
  assert.equal(run.succeeded, false, lines);
  assert.doesNotMatch(lines, /HOST-SECRET/);
  assert.equal(spawnSync('sh', ['-c', `ls ${join(projectDir, 'build')} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim(), '', 'a tarball of the host folder was made');

  // build/ as a link: nothing is written into the host folder.
  spawnSync('rm', ['-rf', join(projectDir, 'dist'), join(projectDir, 'build')]);
  writeFileSync(expo, `#!/bin/sh\nmkdir -p dist && echo '<p>app</p>' > dist/index.html && ln -s ${host} build\n`, { mode: 0o755 });
  const again = await runPlanSimply({ ...plan, phases: plan.phases.filter((p) => p.name === 'EXPORT_WEB') }, job, projectDir, dir);
  assert.equal(again.succeeded, false);
  assert.deepEqual(spawnSync('ls', [host], { encoding: 'utf8' }).stdout.trim().split('\n').sort(), ['HOST-SECRET.txt', 'index.html']);
});
