/**
 * Every attempt runs in a fresh directory of its own, `<workRoot>/attempts/<attemptId>/`:
 *
 *   project/   the unpacked source (the build's working directory)
 *   home/      $HOME of every build step, so tools' caches and config never touch the worker's
 *   tmp/       $TMPDIR of every build step
 *
 * Nothing survives the attempt: `remove()` after it, and `sweepStaleWorkspaces()` at worker start
 * for what a crashed previous run left behind.
 */
import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

export interface WorkspaceLayout {
  root: string;
  projectDir: string;
  homeDir: string;
  tmpDir: string;
}

export interface Workspace extends WorkspaceLayout {
  attemptId: string;
  remove(): Promise<void>;
}

export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
  constructor(
    readonly code: 'INVALID_ATTEMPT_ID',
    message: string,
  ) {
    super(message);
  }
}

/** The layout below a workspace root; the executors derive HOME and TMPDIR from it too. */
export function workspaceLayout(root: string): WorkspaceLayout {
  return { root, projectDir: path.join(root, 'project'), homeDir: path.join(root, 'home'), tmpDir: path.join(root, 'tmp') };
}

/**
 * Below the workspace root, the worker's own directory (step scripts, per-step output and env
 * directories): it stays the worker's, never handed to the build user, so a build cannot plant a
 * link where the worker creates and chmods the next step's directories.
 */
export const WORKER_DIR = '.buildmesh';

/** A single plain path component: no separators, no `.`/`..`, no leading dot or dash, bounded length. */
const ATTEMPT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export async function createWorkspace(workRoot: string, attemptId: string): Promise<Workspace> {
  if (!ATTEMPT_ID.test(attemptId)) {
    throw new WorkspaceError('INVALID_ATTEMPT_ID', `invalid attempt id ${JSON.stringify(attemptId)}`);
  }
  const attempts = attemptsDir(workRoot);
  await mkdir(attempts, { recursive: true, mode: 0o700 });
  const layout = workspaceLayout(path.join(attempts, attemptId));
  // A leftover with the same id (a crash, or the same attempt leased again) must not leak into
  // this run. Then a non-recursive mkdir: it fails rather than reuse anything recreated meanwhile.
  await removeTree(layout.root);
  await mkdir(layout.root, { mode: 0o700 });
  for (const dir of [layout.projectDir, layout.homeDir, layout.tmpDir]) await mkdir(dir, { mode: 0o700 });
  return { ...layout, attemptId, remove: () => removeTree(layout.root) };
}

/** Deletes every attempt directory not in `keep`; returns the names it removed (for the log). */
export async function sweepStaleWorkspaces(workRoot: string, keep: Set<string>): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(attemptsDir(workRoot));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (keep.has(name)) continue;
    await removeTree(path.join(attemptsDir(workRoot), name));
    removed.push(name);
  }
  return removed;
}

function attemptsDir(workRoot: string): string {
  return path.join(path.resolve(workRoot), 'attempts');
}

/**
 * rm -rf that also copes with what builds leave behind: tools like Go's module cache or some
 * npm packages create read-only directories, whose entries a non-root worker cannot unlink.
 * On EACCES/EPERM, make every directory of the tree owner-writable and try once more.
 */
export async function removeTree(target: string): Promise<void> {
  try {
    await rm(target, { recursive: true, force: true, maxRetries: 2 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    await makeDirectoriesWritable(target);
    await rm(target, { recursive: true, force: true, maxRetries: 2 });
  }
}

async function makeDirectoriesWritable(dir: string): Promise<void> {
  const stat = await lstat(dir).catch(() => undefined);
  // lstat, never stat: a symlink in a build's tree must not make us chmod what it points to.
  if (!stat?.isDirectory()) return;
  await chmod(dir, (stat.mode & 0o7777) | 0o700).catch(() => {});
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries) await makeDirectoriesWritable(path.join(dir, name));
}
