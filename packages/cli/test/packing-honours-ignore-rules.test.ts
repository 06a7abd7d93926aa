// The project file list must match what eas-cli would upload: git's view inside a work tree,
// .easignore replacing .gitignore when present, nested .gitignore files outside git, and never
// node_modules, .git, followed symlinks or special files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listProjectFiles, type ProjectFile } from '../src/pack/file-list.js';
import { git, makeTempDir, SAMPLE_KEPT_BY_GITIGNORE, SAMPLE_TREE, writeTree } from './support/project-fixtures.js';

const SYMLINKS = new Set(['links/passwd', 'links/to-dir', 'links/to-file', 'links/untracked-link']);

/** `[path, type]` pairs, the shape the assertions compare. */
const shape = (files: ProjectFile[]) => files.map((f) => [f.path, f.type]);
const expected = (paths: string[]) =>
  [...paths].sort().map((p) => [p, SYMLINKS.has(p) ? 'symlink' : 'file']);

/** SAMPLE_TREE as a committed git repo, plus the states git mode must handle. */
function makeGitSample(dir: string): void {
  writeTree(dir, SAMPLE_TREE);
  writeTree(dir, { 'tracked.log': 'ignored but force-added: git tracks it\n', 'gone.txt': 'deleted later\n' });
  git(dir, 'init', '-q');
  git(dir, 'add', '-A'); // node_modules is not in .gitignore, so it gets tracked: still excluded
  git(dir, 'add', '-f', 'tracked.log');
  git(dir, 'commit', '-q', '-m', 'sample');
  rmSync(join(dir, 'gone.txt')); // tracked, deleted from the work tree: skipped
  writeTree(dir, {
    'untracked.txt': 'untracked, not ignored\n',
    'links/untracked-link': { symlink: '../untracked.txt' },
    'node_modules/untracked/index.js': 'module.exports = 3;\n',
    'more.log': 'untracked and ignored\n',
  });
}

void test('git work tree: tracked plus untracked-not-ignored files, no node_modules, links kept as links', async (t) => {
  const dir = makeTempDir(t);
  makeGitSample(dir);
  assert.match(git(dir, 'ls-files'), /node_modules\/left-pad\/index\.js/, 'premise: node_modules is tracked');

  const files = await listProjectFiles(dir);
  assert.deepEqual(shape(files), expected([
    ...SAMPLE_KEPT_BY_GITIGNORE, 'tracked.log', 'untracked.txt', 'links/untracked-link',
  ]));
  // Sizes come from lstat: the link's own size, never its target's.
  const bySize = Object.fromEntries(files.map((f) => [f.path, f.size]));
  assert.equal(bySize['App.tsx'], Buffer.byteLength(SAMPLE_TREE['App.tsx'] as string));
  assert.equal(bySize['links/passwd'], '/etc/passwd'.length);
});

void test('.easignore replaces .gitignore: its rules apply, .gitignore rules do not', async (t) => {
  const dir = makeTempDir(t);
  makeGitSample(dir);
  writeFileSync(join(dir, '.easignore'), 'App.tsx\nsrc/generated/\nlinks/\nmore.log\n');

  const files = await listProjectFiles(dir);
  assert.deepEqual(shape(files), expected([
    '.easignore', '.gitignore', 'app.json', 'notes.tmp', 'src/.gitignore', 'src/index.ts',
    // ignored by .gitignore files, but those no longer count:
    'src/a.tmp', 'debug.log', 'build/output.bin', 'secret.env',
    'tracked.log', 'untracked.txt',
  ]));
});

void test('no git: root and nested .gitignore files apply, each relative to its own directory', async (t) => {
  const dir = makeTempDir(t);
  writeTree(dir, {
    ...SAMPLE_TREE,
    // A deeper file overrides a shallower one: !keep.log re-includes what the root's *.log ignores.
    'src/.gitignore': 'generated/\n*.tmp\n!keep.log\n',
    'src/keep.log': 'kept by the nested negation\n',
    'src/drop.log': 'ignored by the root *.log\n',
    // Anchored patterns are anchored to their own directory.
    'lib/.gitignore': '/only-here.txt\n',
    'lib/only-here.txt': 'ignored\n',
    'only-here.txt': 'kept: lib/.gitignore does not reach the root\n',
  });
  execFileSync('mkfifo', [join(dir, 'pipe.fifo')]); // special files are never listed
  assert.throws(() => git(dir, 'rev-parse', '--show-toplevel'), 'premise: not inside a git work tree');

  const files = await listProjectFiles(dir);
  assert.deepEqual(shape(files), expected([
    ...SAMPLE_KEPT_BY_GITIGNORE, 'src/keep.log', 'lib/.gitignore', 'only-here.txt',
  ]));
});

void test('project in a subdirectory of a git repo: only its files, relative to the project', async (t) => {
  const repo = makeTempDir(t);
  writeTree(repo, {
    '.gitignore': '*.log\n',
    'README.md': 'monorepo root\n',
    'apps/other/index.ts': 'export {};\n',
    'apps/mobile/.gitignore': 'dist/\n',
    'apps/mobile/App.tsx': 'export default null;\n',
    'apps/mobile/assets/icon.png': 'png',
    'apps/mobile/debug.log': 'ignored by the repo root .gitignore\n',
    'apps/mobile/dist/bundle.js': 'ignored by the project .gitignore\n',
    'apps/mobile/node_modules/dep/index.js': 'excluded\n',
  });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'monorepo');
  writeTree(repo, { 'apps/mobile/new.ts': 'untracked\n', 'apps/other/new.ts': 'untracked, other project\n' });

  const files = await listProjectFiles(join(repo, 'apps/mobile'));
  assert.deepEqual(shape(files), expected(['.gitignore', 'App.tsx', 'assets/icon.png', 'new.ts']));
});

void test('a missing project directory is a typed error', async (t) => {
  const dir = makeTempDir(t);
  await assert.rejects(listProjectFiles(join(dir, 'missing')), { code: 'PROJECT_DIR_NOT_FOUND' });
});
