/**
 * The worker's own code that runs outside the sandbox, as root (artifact collection, cache save and
 * restore, credential and file-secret writing), finds the project, home and tmp directories by
 * their paths below the attempt's workspace root. A build that owned that root could rename
 * project/ away and put a symlink to / in its place: the worker then uploaded /etc/shadow as an
 * artifact. The root stays the worker's (searchable only); every attempt to swap fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import { collectArtifacts } from '../src/runner/artifacts.js';
import { createWorkspace } from '../src/workspace/workspace.js';
import { StepIoFactory } from '../src/runner/step-io.js';
import { PhaseRunner } from '../src/runner/run-phases.js';
import { assertProjectInPlace } from '../src/runner/paths.js';
import { BuildLog } from '../src/runner/build-log.js';
import { saveCaches } from '../src/cache/phases.js';
import { CacheStore } from '../src/cache/store.js';
import { makeJob } from './support/simple-phase-runner.js';
import { bwrapSkipper, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';

const bwrap = await bwrapSkipper();
const asRoot = process.getuid?.() === 0;
let tmp: string | undefined;
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

void test('a build cannot replace project/ or home/ with a symlink to a host path', { skip: bwrap.skip() || (!asRoot && 'the build user differs from the worker only when the worker runs as root') }, async () => {
  tmp = await mkdtemp('/var/tmp/bm-swap-');
  const ws = await createWorkspace(path.join(tmp, 'work'), 'att_swap');
  const executor = new BwrapExecutor({ hiddenPaths: [], bwrapPath: TEST_BWRAP_PATH, killGraceMs: 1000 });
  await executor.prepare(ws.root);
  const output: string[] = [];
  try {
    const script = [
      'cd ..',
      'mv project p2 && ln -s / project',
      'mv home h2 && ln -s / home',
      'rm -rf tmp; ln -s / tmp',
      'ln -s / credentials',
      'ln -s / secret-files',
      'true',
    ].join('; ');
    const result = await executor.run({ argv: ['bash', '-c', script], cwd: ws.projectDir, env: { PATH: '/usr/bin:/bin' }, network: false, onLine: (_s, l) => output.push(l) });
    assert.equal(result.exitCode, 0, output.join('\n'));
  } finally {
    await executor.dispose();
  }
  for (const dir of [ws.projectDir, ws.homeDir, ws.tmpDir]) {
    assert.ok((await lstat(dir)).isDirectory(), `${dir} was swapped: ${output.join('\n')}`);
  }
  for (const name of ['credentials', 'secret-files', 'p2', 'h2']) {
    assert.equal(await lstat(path.join(ws.root, name)).catch(() => undefined), undefined, `the build created ${name} in the workspace root`);
  }
  const files = await collectArtifacts(ws.projectDir, ws.tmpDir, [{ kind: 'build-artifacts', patterns: ['etc/passwd', 'etc/shadow'], required: false }], () => {});
  assert.deepEqual(files, []);
});

void test("a build cannot plant a link where the worker creates the next step's output directories", { skip: bwrap.skip() || (!asRoot && 'the build user differs from the worker only when the worker runs as root') }, async () => {
  const base = await mkdtemp('/var/tmp/bm-stepio-');
  try {
    const victim = path.join(base, 'host-dir');
    await mkdir(victim, { mode: 0o700 });
    const ws = await createWorkspace(path.join(base, 'work'), 'att_stepio');
    const executor = new BwrapExecutor({ hiddenPaths: [], bwrapPath: TEST_BWRAP_PATH, killGraceMs: 1000 });
    await executor.prepare(ws.root);
    const io = new StepIoFactory(ws.root);
    const first = await io.create(undefined);
    try {
      const plant = `ln -s ${victim} ${ws.root}/.buildmesh/steps/2; ln -s ${victim} ${ws.root}/.buildmesh/steps/1/outputs/x; true`;
      const result = await executor.run({ argv: ['bash', '-c', plant], cwd: ws.projectDir, env: { PATH: '/usr/bin:/bin', ...first.env }, network: false, onLine: () => {} });
      assert.equal(result.exitCode, 0);
      // Control: the step's own output directory is writable by it.
      const write = await executor.run({ argv: ['bash', '-c', 'echo v > "$BUILDMESH_STEP_OUTPUTS_DIR/name"'], cwd: ws.projectDir, env: { PATH: '/usr/bin:/bin', ...first.env }, network: false, onLine: () => {} });
      assert.equal(write.exitCode, 0);
    } finally {
      await executor.dispose();
    }
    await io.create(undefined).catch(() => undefined);
    assert.equal((await stat(victim)).mode & 0o777, 0o700, 'the worker chmodded a host directory through a planted link');
    assert.deepEqual(await readdir(victim), []);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

void test("a monorepo build cannot swap its app folder for a link: the worker's next task (a cache save) refuses to run", { skip: bwrap.skip() || (!asRoot && 'the build user differs from the worker only when the worker runs as root') }, async () => {
  const base = await mkdtemp('/var/tmp/bm-appdir-');
  try {
    const host = path.join(base, 'host');
    await mkdir(path.join(host, 'victim'), { recursive: true, mode: 0o700 });
    await writeFile(path.join(host, 'victim', 'id_rsa'), 'host key\n', { mode: 0o600 });
    const ws = await createWorkspace(path.join(base, 'work'), 'att_appdir');
    const appDir = path.join(ws.projectDir, 'apps', 'm');
    await mkdir(appDir, { recursive: true });
    const executor = new BwrapExecutor({ hiddenPaths: [], bwrapPath: TEST_BWRAP_PATH, killGraceMs: 1000 });
    await executor.prepare(ws.root);
    const store = new CacheStore(path.join(base, 'cache'), 1e9);
    await store.init();
    const job = makeJob('android', { cache: { paths: ['victim'] } });
    job.build.orgId = 'org_attacker';
    const lines: string[] = [];
    const controller = new AbortController();
    const runner = new PhaseRunner({
      executor,
      log: new BuildLog((line) => lines.push(line.text), (s) => s),
      context: { job, projectDir: appDir, repoDir: ws.projectDir, workspaceRoot: ws.root, env: { PATH: '/usr/bin:/bin' } },
      signal: controller.signal,
    });
    try {
      await runner.run([
        { name: 'SWAP', steps: [{ kind: 'command', command: { argv: ['bash', '-c', `cd .. && mv m m2 && ln -s ${host} m && echo swapped`] } }] },
        { name: 'SAVE_CACHE', steps: [{ kind: 'task', describe: 'save', run: (ctx) => saveCaches({ store, job, homeDir: ws.homeDir }, ctx) }] },
      ]);
    } finally {
      await executor.dispose();
    }
    assert.ok(lines.includes('swapped'), lines.join('\n'));
    assert.equal(runner.result().error?.code, 'STEP_FAILED', lines.join('\n'));
    assert.equal(await readFile(path.join(host, 'victim', 'id_rsa'), 'utf8'), 'host key\n', 'the worker moved a host directory into the cache');
    assert.deepEqual(await store.list(), []);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

void test('the project-folder check lets an app folder that does not exist yet pass, and refuses a link above it', async () => {
  const base = await mkdtemp('/var/tmp/bm-inplace-');
  try {
    const ws = await createWorkspace(path.join(base, 'work'), 'att_inplace');
    const app = path.join(ws.projectDir, 'apps', 'm');
    await assertProjectInPlace(ws.root, app);
    await mkdir(app, { recursive: true });
    await assertProjectInPlace(ws.root, app);
    await rm(path.join(ws.projectDir, 'apps'), { recursive: true });
    await symlink(base, path.join(ws.projectDir, 'apps'));
    await assert.rejects(assertProjectInPlace(ws.root, app), /replaced by a link/);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
