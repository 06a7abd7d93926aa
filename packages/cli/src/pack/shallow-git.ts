/**
 * The shallow `.git` a monorepo upload carries, as eas-cli gives the build one: config plugins and
 * scripts that call `git` (the commit hash, the branch, `git rev-parse --show-toplevel`) work on
 * the worker. It is made by `git clone --depth 1 --no-checkout file://<root>` into a temp folder,
 * whose index is then filled from HEAD (`git read-tree HEAD`, no files written), and whose
 * `origin` is the repository's own origin URL (or none). Only that clone's `.git` is packed: the
 * files themselves come from the working tree, uncommitted changes included, so on the worker
 * `git status` shows those changes as modifications of HEAD, as on the developer's machine.
 * No commit yet (or git failing): no `.git`, and the build goes on without one.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ShallowGit {
  /** The folder holding the clone's `.git` (Pack's cwd for the `files`). */
  dir: string;
  /** `.git` and everything below it (directories too: git needs its empty `refs/` folders), relative to `dir`, parents first. */
  paths: string[];
  /** The sum of the files' sizes. */
  bytes: number;
  remove(): Promise<void>;
}

export async function shallowGitClone(repoRoot: string): Promise<ShallowGit | null> {
  const git = (cwd: string, ...args: string[]) =>
    execFileAsync('git', args, { cwd, maxBuffer: 16 * 1024 ** 2, env: { ...process.env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' } }).then((r) => r.stdout.trim());
  try {
    await git(repoRoot, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}');
  } catch {
    return null;
  }
  const dir = await mkdtemp(join(tmpdir(), 'buildmesh-git-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const clone = join(dir, 'repo');
    await git(dir, 'clone', '--quiet', '--depth', '1', '--no-checkout', '--no-local', pathToFileURL(repoRoot).href, clone);
    await git(clone, 'read-tree', 'HEAD');
    const origin = await git(repoRoot, 'config', '--get', 'remote.origin.url').catch(() => '');
    if (origin) await git(clone, 'remote', 'set-url', 'origin', origin);
    else await git(clone, 'remote', 'remove', 'origin');
    const tree = { paths: ['.git'], bytes: 0 };
    await listTree(clone, '.git', tree);
    return { dir: clone, ...tree, remove };
  } catch {
    await remove();
    return null;
  }
}

/** Adds every directory, regular file and symlink below `root/rel` (relative to `root`) to `tree`. */
async function listTree(root: string, rel: string, tree: { paths: string[]; bytes: number }): Promise<void> {
  const entries = (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      tree.paths.push(path);
      await listTree(root, path, tree);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      tree.paths.push(path);
      tree.bytes += (await lstat(join(root, path))).size;
    }
  }
}
