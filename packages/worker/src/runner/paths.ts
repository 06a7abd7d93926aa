/** Containment checks for paths a build config names (working directories, artifact globs). */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
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
