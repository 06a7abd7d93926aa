/**
 * What is uploaded for a project, as EAS decides it: a project inside a git repository whose root
 * is above it (a monorepo: `apps/mobile`) is packed from the repository root, so the root
 * lockfile, the sibling workspace packages and the git history config plugins read all reach the
 * worker; the app's folder then travels with the build (`appDir`). A plain project (the project
 * folder is the repository root, or there is no git) is packed exactly as before.
 *
 * The file rules are file-list.ts's, applied at the root: `.easignore` at the repository root
 * replaces .gitignore; otherwise git's tracked plus untracked-not-ignored files; never node_modules
 * or .git. The app's `build-artifacts/` download folder is left out like the root's.
 */
import { execFile } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_DOWNLOAD_DIR, listProjectFiles, type ProjectFile } from './file-list.js';

const execFileAsync = promisify(execFile);

export interface SourceRoot {
  /** Absolute path of what is packed: the repository root, or the project folder itself. */
  root: string;
  /** The project folder relative to `root`, posix (`apps/mobile`); null when it is the root. */
  appDir: string | null;
}

export interface SourceFiles extends SourceRoot {
  /** Paths relative to `root`. */
  files: ProjectFile[];
}

/** The repository root when it lies above the project folder, else the project folder. */
export async function resolveSourceRoot(projectDir: string): Promise<SourceRoot> {
  const project = await realpath(resolve(projectDir)).catch(() => resolve(projectDir));
  let top: string;
  try {
    top = (await execFileAsync('git', ['rev-parse', '--show-toplevel'], { cwd: project })).stdout.trim();
    top = await realpath(top);
  } catch {
    return { root: project, appDir: null }; // no git (or no usable git): the project folder alone
  }
  const rel = relative(top, project);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return { root: project, appDir: null };
  return { root: top, appDir: rel.split(sep).join('/') };
}

/** The files to upload, relative to the source root (see the header). */
export async function listSourceFiles(projectDir: string): Promise<SourceFiles> {
  const source = await resolveSourceRoot(projectDir);
  if (source.appDir === null) return { ...source, files: await listProjectFiles(source.root) };
  const appDownloads = `${source.appDir}/${DEFAULT_DOWNLOAD_DIR}/`;
  const files = (await listProjectFiles(source.root)).filter((f) => !f.path.startsWith(appDownloads));
  return { ...source, files };
}

/** A path of the project (`package.json`, `.eas/build/x.yml`) as it appears in the source's file list. */
export function inSource(source: SourceRoot, projectPath: string): string {
  return source.appDir === null ? projectPath : `${source.appDir}/${projectPath}`;
}
