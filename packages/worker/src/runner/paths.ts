/** Containment checks for paths a build config names (working directories, artifact globs). */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { BuildFailure } from './build-failure.js';
import type { BuildErrorCode } from '@buildmesh/protocol';

/** Is `child` `parent` itself or below it (purely lexical; both absolute and normalised)? */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Resolves `rel` against `root` and checks, lexically and after following symlinks,
 * that it stays inside `root`; returns the real path. A symlink inside the project
 * that points at /etc does not make /etc a working directory.
 */
export async function resolveInside(root: string, rel: string | undefined, code: BuildErrorCode, what: string): Promise<string> {
  const target = resolve(root, rel ?? '.');
  if (!isInside(root, target)) throw new BuildFailure(code, `${what} "${rel}" is outside the project`);
  let real: string;
  try {
    real = await realpath(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BuildFailure(code, `${what} "${rel ?? '.'}" does not exist`);
    throw err;
  }
  if (!isInside(await realpath(root), real)) throw new BuildFailure(code, `${what} "${rel}" leads outside the project through a symlink`);
  return real;
}

/**
 * Before the worker's own code (outside the sandbox) touches the project again: the project folder
 * (a monorepo's app folder, and every folder between it and the workspace root) must still be a
 * real folder at its place. The build owns them and could have put a link to a host directory
 * there; everything the worker then read, wrote, moved or uploaded "in the project" would be there.
 */
export async function assertProjectInPlace(workspaceRoot: string, projectDir: string): Promise<void> {
  const rel = relative(workspaceRoot, projectDir);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return;
  const realRoot = await realpath(workspaceRoot);
  // The deepest folder that exists (a monorepo's app folder appears only once the source is unpacked).
  let existing = rel;
  let actual: string | undefined;
  for (;;) {
    actual = await realpath(resolve(workspaceRoot, existing)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      return undefined;
    });
    if (actual !== undefined || existing === '.' || existing === '') break;
    existing = dirname(existing);
  }
  if (actual !== resolve(realRoot, existing)) {
    throw new BuildFailure('STEP_FAILED', `the project folder ${rel} was replaced by a link by the build; the worker does not follow it`);
  }
}
