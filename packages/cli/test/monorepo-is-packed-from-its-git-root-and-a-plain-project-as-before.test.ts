// A project below its git repository's root is uploaded from that root, as EAS does: the root
// lockfile and the sibling packages travel, `.easignore` at the root replaces .gitignore, the app's
// folder is named, and the archive carries a shallow `.git` while the files stay the working tree's.
// A plain project (its own repository root, or no git) is packed exactly as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract, list } from 'tar';
import { listProjectFiles, type ProjectFile } from '../src/pack/file-list.js';
import { packProject } from '../src/pack/pack.js';
import { shallowGitClone } from '../src/pack/shallow-git.js';
import { listSourceFiles } from '../src/pack/source-root.js';
import { git, makeTempDir, writeTree } from './support/project-fixtures.js';

const paths = (files: ProjectFile[]) => files.map((f) => f.path);

function makeMonorepo(repo: string): void {
  writeTree(repo, {
    '.gitignore': 'node_modules/\n*.log\n',
    'package.json': JSON.stringify({ name: 'root', private: true, workspaces: ['apps/*', 'packages/*'] }),
    'package-lock.json': '{"lockfileVersion":3}\n',
    'packages/shared/package.json': '{"name":"shared"}\n',
    'packages/shared/index.js': 'module.exports = 1;\n',
    'apps/mobile/package.json': '{"name":"mobile"}\n',
    'apps/mobile/app.json': '{"expo":{"name":"mobile"}}\n',
    'apps/mobile/debug.log': 'ignored by the root .gitignore\n',
    'apps/mobile/node_modules/dep/index.js': 'never packed\n',
    'node_modules/shared/index.js': 'never packed\n',
  });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'first');
  writeTree(repo, { 'packages/shared/index.js': 'module.exports = 2;\n' });
  git(repo, 'commit', '-q', '-am', 'second');
}

void test('a project below its git root is packed from the root, with the app folder named', async (t) => {
  const repo = realpathSync(makeTempDir(t));
  makeMonorepo(repo);
  writeTree(repo, { 'apps/mobile/new.ts': 'untracked, not ignored\n', 'apps/mobile/build-artifacts/bld_x/app.apk': 'a download\n' });

  const source = await listSourceFiles(join(repo, 'apps/mobile'));
  assert.equal(source.root, repo);
  assert.equal(source.appDir, 'apps/mobile');
  assert.deepEqual(paths(source.files), [
    '.gitignore', 'apps/mobile/app.json', 'apps/mobile/new.ts', 'apps/mobile/package.json',
    'package-lock.json', 'package.json', 'packages/shared/index.js', 'packages/shared/package.json',
  ]);

  // .easignore at the repository root replaces .gitignore (node_modules stays out whatever it says).
  writeFileSync(join(repo, '.easignore'), 'packages/\n');
  const eased = await listSourceFiles(join(repo, 'apps/mobile'));
  assert.deepEqual(paths(eased.files), [
    '.easignore', '.gitignore', 'apps/mobile/app.json', 'apps/mobile/debug.log', 'apps/mobile/new.ts', 'apps/mobile/package.json',
    'package-lock.json', 'package.json',
  ]);
});

void test('the archive carries a shallow .git of HEAD, and the working tree as it is', async (t) => {
  const repo = realpathSync(makeTempDir(t));
  makeMonorepo(repo);
  git(repo, 'remote', 'add', 'origin', 'https://example.invalid/acme/monorepo.git');
  writeTree(repo, { 'apps/mobile/app.json': '{"expo":{"name":"changed, not committed"}}\n' });

  const source = await listSourceFiles(join(repo, 'apps/mobile'));
  const shallow = await shallowGitClone(source.root);
  assert.ok(shallow, 'a repository with commits gets a shallow .git');
  t.after(() => shallow.remove());
  const out = makeTempDir(t);
  const archive = join(out, 'source.tar.gz');
  await pipeline(packProject(source.root, source.files, { extra: { cwd: shallow.dir, paths: shallow.paths, bytes: shallow.bytes } }), createWriteStream(archive));

  const entries: string[] = [];
  await list({ file: archive, onReadEntry: (e) => entries.push(e.path) });
  assert.ok(entries.includes('apps/mobile/package.json') && entries.includes('.git/HEAD'), entries.join(', '));
  assert.ok(!entries.some((e) => e.includes('node_modules')));

  const unpacked = join(out, 'unpacked');
  execFileSync('mkdir', [unpacked]);
  await extract({ file: archive, cwd: unpacked });
  const head = git(repo, 'rev-parse', 'HEAD').trim();
  assert.equal(git(join(unpacked, 'apps/mobile'), 'rev-parse', 'HEAD').trim(), head);
  assert.equal(realpathSync(git(join(unpacked, 'apps/mobile'), 'rev-parse', '--show-toplevel').trim()), realpathSync(unpacked));
  assert.equal(git(unpacked, 'rev-list', '--count', 'HEAD').trim(), '1', 'shallow: one commit of the two');
  assert.equal(git(unpacked, 'remote', 'get-url', 'origin').trim(), 'https://example.invalid/acme/monorepo.git');
  // The uncommitted change is packed from the working tree, and git there sees it as a change of HEAD.
  assert.match(readFileSync(join(unpacked, 'apps/mobile/app.json'), 'utf8'), /changed, not committed/);
  assert.equal(git(unpacked, 'status', '--porcelain').trim(), 'M apps/mobile/app.json');
});

void test('a plain project packs exactly as before: its own files, no app folder, no .git', async (t) => {
  // Its own git repository.
  const repo = realpathSync(makeTempDir(t));
  writeTree(repo, { 'package.json': '{"name":"plain"}\n', 'app.json': '{}\n', '.gitignore': '*.log\n', 'x.log': 'ignored\n', 'node_modules/a/index.js': 'no\n' });
  git(repo, 'init', '-q');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'plain');
  const inGit = await listSourceFiles(repo);
  assert.deepEqual(inGit, { root: repo, appDir: null, files: await listProjectFiles(repo) });
  assert.deepEqual(paths(inGit.files), ['.gitignore', 'app.json', 'package.json']);

  // No git at all.
  const loose = realpathSync(makeTempDir(t));
  writeTree(loose, { 'package.json': '{"name":"loose"}\n', '.gitignore': 'dist/\n', 'dist/a.js': 'x\n', 'App.tsx': 'x\n' });
  const noGit = await listSourceFiles(loose);
  assert.deepEqual(noGit, { root: loose, appDir: null, files: await listProjectFiles(loose) });
  assert.deepEqual(paths(noGit.files), ['.gitignore', 'App.tsx', 'package.json']);

  // The archive of a plain project holds exactly its listed files (byte-identical to packing them directly).
  const out = makeTempDir(t);
  await pipeline(packProject(inGit.root, inGit.files), createWriteStream(join(out, 'a.tar.gz')));
  await pipeline(packProject(repo, await listProjectFiles(repo)), createWriteStream(join(out, 'b.tar.gz')));
  assert.deepEqual(readFileSync(join(out, 'a.tar.gz')), readFileSync(join(out, 'b.tar.gz')));
  const entries: string[] = [];
  await list({ file: join(out, 'a.tar.gz'), onReadEntry: (e) => entries.push(e.path) });
  assert.deepEqual(entries, ['.gitignore', 'app.json', 'package.json']);
});
