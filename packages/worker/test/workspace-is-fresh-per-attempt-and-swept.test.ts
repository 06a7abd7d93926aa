import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createWorkspace, sweepStaleWorkspaces, WorkspaceError } from '../src/workspace/workspace.js';

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'bm-ws-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

void test('attempt ids that could escape the attempts directory are refused', async (t) => {
  const root = await tempRoot(t);
  for (const id of ['', '.', '..', '../x', 'a/b', '/abs', '.hidden', '-rf', 'a\0b', 'x'.repeat(200)]) {
    await assert.rejects(createWorkspace(root, id), (err: unknown) => err instanceof WorkspaceError && err.code === 'INVALID_ATTEMPT_ID', id);
  }
  assert.deepEqual(await readdir(root), []);
});

void test('a workspace starts empty, even over a leftover of the same attempt, and is removed', async (t) => {
  const root = await tempRoot(t);
  const leftover = path.join(root, 'attempts', 'att_1', 'project');
  await mkdir(leftover, { recursive: true });
  await writeFile(path.join(leftover, 'stale.txt'), 'from a crashed run');

  const ws = await createWorkspace(root, 'att_1');
  assert.equal(ws.root, path.join(root, 'attempts', 'att_1'));
  assert.deepEqual((await readdir(ws.root)).sort(), ['home', 'project', 'tmp']);
  assert.deepEqual(await readdir(ws.projectDir), []);
  await ws.remove();
  assert.equal(existsSync(ws.root), false);
});

void test('the startup sweep removes stale workspaces, read-only directories included, and keeps the others', async (t) => {
  const root = await tempRoot(t);
  const stale = await createWorkspace(root, 'att_stale');
  const kept = await createWorkspace(root, 'att_kept');
  // Like Go's module cache: read-only directories a non-root rm -rf cannot empty. (Run as root,
  // as on CI here, this part cannot fail; it guards the non-root workers the docs recommend.)
  const readOnly = path.join(stale.homeDir, 'go', 'pkg', 'mod');
  await mkdir(readOnly, { recursive: true });
  await writeFile(path.join(readOnly, 'file'), 'x');
  await chmod(readOnly, 0o555);

  assert.deepEqual(await sweepStaleWorkspaces(root, new Set(['att_kept'])), ['att_stale']);
  assert.equal(existsSync(stale.root), false);
  assert.equal(existsSync(kept.root), true);
  assert.deepEqual(await sweepStaleWorkspaces(path.join(root, 'never-used'), new Set()), []);
});
