/**
 * Under the none executor a job's PATH is the build's own business inside the step, but it does not
 * decide which program the worker starts: `bash` of a step is the worker's bash, even when the job
 * puts a directory with another `bash` first on PATH. The control spawns the same way without the
 * worker's lookup and gets the impostor.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NoneExecutor } from '../src/sandbox/none.js';
import { createWorkspace } from '../src/workspace/workspace.js';

void test("a job's PATH cannot swap the command the worker starts", async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bm-none-path-'));
  after(() => rm(root, { recursive: true, force: true }));
  const workspace = await createWorkspace(root, 'att_path');
  const fakeBin = path.join(workspace.projectDir, 'bin');
  const marker = path.join(root, 'impostor-ran');
  await mkdir(fakeBin);
  await writeFile(path.join(fakeBin, 'bash'), `#!/bin/sh\ntouch ${marker}\necho impostor\n`);
  await chmod(path.join(fakeBin, 'bash'), 0o755);
  const jobPath = `${fakeBin}:/usr/bin:/bin`;

  // Control: a plain spawn looks the command up on the environment it is given.
  assert.match(spawnSync('bash', ['-c', 'echo real'], { env: { PATH: jobPath }, encoding: 'utf8' }).stdout, /impostor/);
  await rm(marker, { force: true });

  const executor = new NoneExecutor({ killGraceMs: 500 });
  await executor.prepare(workspace.root);
  const lines: string[] = [];
  const result = await executor.run({ argv: ['bash', '-c', 'echo "real $PATH"'], cwd: workspace.projectDir, env: { PATH: jobPath }, network: false, onLine: (_s, l) => lines.push(l) });
  await executor.dispose();
  assert.equal(result.exitCode, 0);
  assert.equal(existsSync(marker), false, "the job's bash ran instead of the worker's");
  // Inside the step, the job's PATH is in force (it is the build's own environment).
  assert.deepEqual(lines, [`real ${jobPath}`]);
});
