/**
 * With the worker's real hidden-path list and the layout `buildmesh up` uses
 * (workspaces inside the controller's data dir), a build step under bwrap cannot
 * read another attempt's decrypted credentials nor the controller's encryption
 * key, and still reads its own workspace. The control run (the none
 * executor) shows the same reads succeed without the sandbox.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hiddenPaths } from '../src/index.js';
import { resolveWorkerOptions } from '../src/config.js';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import { NoneExecutor } from '../src/sandbox/none.js';
import { createWorkspace } from '../src/workspace/workspace.js';
import { bwrapSkipper, TEST_BWRAP_PATH } from '../../../test/helpers/bwrap.js';

const bwrap = await bwrapSkipper();

test('a build step sees neither sibling workspaces nor the controller data dir', { skip: bwrap.skip() }, async () => {
  // Not below /tmp: the sandbox mounts its own /tmp, which would hide things for the wrong reason.
  const dataDir = await mkdtemp('/var/tmp/bm-up-layout-');
  after(() => rm(dataDir, { recursive: true, force: true }));
  const options = resolveWorkerOptions(
    { url: 'http://127.0.0.1:1', workDir: join(dataDir, 'worker', 'workspaces'), configDir: join(dataDir, 'worker'), hidePaths: [dataDir] },
    {},
  );
  await writeFile(join(dataDir, 'encryption.key'), 'controller-key-material\n');
  const victim = await createWorkspace(options.workDir, 'att_victim');
  await mkdir(join(victim.root, 'credentials'));
  await writeFile(join(victim.root, 'credentials', 'credentials.json'), '{"keystorePassword":"victim-secret"}');
  const own = await createWorkspace(options.workDir, 'att_thief');
  await writeFile(join(own.projectDir, 'mine.txt'), 'own file');

  const read = async (hidden: string[] | 'unconfined', file: string) => {
    const executor = hidden === 'unconfined' ? new NoneExecutor() : new BwrapExecutor({ hiddenPaths: hidden, bwrapPath: TEST_BWRAP_PATH });
    await executor.prepare(own.root);
    const lines: string[] = [];
    const result = await executor.run({ argv: ['cat', file], cwd: own.projectDir, env: {}, network: false, onLine: (_s, l) => lines.push(l) });
    await executor.dispose();
    return { exitCode: result.exitCode, text: lines.join('\n') };
  };
  const stolenFiles = [join(victim.root, 'credentials', 'credentials.json'), join(dataDir, 'encryption.key')];

  for (const file of stolenFiles) {
    const control = await read('unconfined', file);
    assert.equal(control.exitCode, 0, `control: unconfined, ${file} is readable`);
    const guarded = await read(hiddenPaths(options), file);
    assert.notEqual(guarded.exitCode, 0, `${file} was readable from another attempt: ${guarded.text}`);
    assert.doesNotMatch(guarded.text, /victim-secret|controller-key-material/);
  }
  const mine = await read(hiddenPaths(options), join(own.projectDir, 'mine.txt'));
  assert.equal(mine.exitCode, 0);
  assert.equal(mine.text, 'own file');
});
