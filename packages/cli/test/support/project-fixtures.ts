/**
 * Builds real Expo-like project trees on disk for the packing tests: files, symlinks (inside,
 * outside and to a directory), ignore files at several depths, node_modules, and optionally a
 * real git repository made with the git binary.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A path's content, or `{ symlink: target }` for a link. */
export type TreeSpec = Record<string, string | { symlink: string }>;

export function makeTempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'buildmesh-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeTree(root: string, spec: TreeSpec): void {
  for (const [rel, value] of Object.entries(spec)) {
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof value === 'string') writeFileSync(abs, value);
    else symlinkSync(value.symlink, abs);
  }
}

/** Runs the real git with a fixed identity, so tests do not depend on the machine's git config. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=test@buildmesh.invalid', '-c', 'user.name=BuildMesh Test', '-c', 'init.defaultBranch=main',
      '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** The ignore files of the sample project: a root .gitignore and a nested one in src/. */
export const SAMPLE_IGNORE_FILES: TreeSpec = {
  '.gitignore': '*.log\n/build/\nsecret.env\n',
  // Nested: relative to src/, so a root-level notes.tmp is NOT ignored by it.
  'src/.gitignore': 'generated/\n*.tmp\n',
};

/** Files every mode sees on disk: kept ones, ignored ones, node_modules and symlinks. */
export const SAMPLE_TREE: TreeSpec = {
  ...SAMPLE_IGNORE_FILES,
  'app.json': '{ "expo": { "name": "sample" } }\n',
  'App.tsx': 'export default function App() { return null; }\n',
  'notes.tmp': 'not ignored: the *.tmp rule lives in src/.gitignore\n',
  'src/index.ts': 'export const answer = 42;\n',
  'src/a.tmp': 'ignored by src/.gitignore\n',
  'src/generated/types.ts': 'ignored by src/.gitignore\n',
  'debug.log': 'ignored by .gitignore\n',
  'build/output.bin': 'ignored by .gitignore\n',
  'secret.env': 'API_KEY=ignored-by-gitignore\n',
  'node_modules/left-pad/index.js': 'module.exports = 1;\n',
  'src/node_modules/nested/index.js': 'module.exports = 2;\n',
  'links/to-file': { symlink: '../App.tsx' },
  'links/to-dir': { symlink: '../src' },
  'links/passwd': { symlink: '/etc/passwd' },
};

/** What the .gitignore rules keep of SAMPLE_TREE (node_modules and ignored files dropped). */
export const SAMPLE_KEPT_BY_GITIGNORE = [
  '.gitignore', 'App.tsx', 'app.json', 'links/passwd', 'links/to-dir', 'links/to-file', 'notes.tmp',
  'src/.gitignore', 'src/index.ts',
];
