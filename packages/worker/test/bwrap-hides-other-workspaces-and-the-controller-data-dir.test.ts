/**
 * With the worker's real hidden-path list and the layout `buildmesh up` uses
 * (workspaces inside the controller's data dir), a build step under bwrap cannot
 * read another attempt's decrypted credentials nor the controller's encryption
 * key, and still reads its own workspace. The control run (nothing hidden)
 * shows the same reads succeed without the protection.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { hiddenPaths } from '../src/index.js';
import { resolveWorkerOptions } from '../src/config.js';
import { BwrapExecutor } from '../src/sandbox/bwrap.js';
import { probeBwrap } from '../src/sandbox/select.js';
import { createWorkspace } from '../src/workspace/workspace.js';

const works = (process.platform === 'linux' && (await probeBwrap()).ok) || Boolean(process.env.CI);

test('a build step sees neither sibling workspaces nor the controller data dir', { skip: works ? false : 'bwrap unusable here' }, async () => {
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

  const read = async (hidden: string[], file: string) => {
    const executor = new BwrapExecutor({ hiddenPaths: hidden });
    await executor.prepare(own.root);
    const lines: string[] = [];
    const result = await executor.run({ argv: ['cat', file], cwd: own.projectDir, env: {}, network: false, onLine: (_s, l) => lines.push(l) });
    await executor.dispose();
    return { exitCode: result.exitCode, text: lines.join('\n') };
  };
  const stolenFiles = [join(victim.root, 'credentials', 'credentials.json'), join(dataDir, 'encryption.key')];

  for (const file of stolenFiles) {
    const control = await read([], file);
    assert.equal(control.exitCode, 0, `control: without hiding, ${file} is readable`);
    const guarded = await read(hiddenPaths(options), file);
    assert.notEqual(guarded.exitCode, 0, `${file} was readable from another attempt: ${guarded.text}`);
    assert.doesNotMatch(guarded.text, /victim-secret|controller-key-material/);
  }
  const mine = await read(hiddenPaths(options), join(own.projectDir, 'mine.txt'));
  assert.equal(mine.exitCode, 0);
  assert.equal(mine.text, 'own file');
});
