/**
 * The worker's own code that runs outside the sandbox, as root (artifact collection, cache save and
 * restore, credential and file-secret writing), finds the project, home and tmp directories by
 * their paths below the attempt's workspace root. A build that owned that root could rename
 * project/ away and put a symlink to / in its place: the worker then uploaded /etc/shadow as an
 * artifact. The root stays the worker's (searchable only); every attempt to swap fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import { collectArtifacts } from '../src/runner/artifacts.js';
import { createWorkspace } from '../src/workspace/workspace.js';
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
