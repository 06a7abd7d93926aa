/**
 * Which files of an Expo project go into the source archive, chosen the way eas-cli chooses them:
 *
 * 1. `.easignore` at the project root → walk the tree, apply only `.easignore` (it replaces .gitignore);
 * 2. inside a git work tree → tracked files plus untracked-but-not-ignored files, as git reports them;
 * 3. otherwise → walk the tree, apply every `.gitignore` (a nested one relative to its own directory).
 *
 * In every mode `node_modules` (at any depth), `.git` and the root's `build-artifacts/` (where `build`
 * and `download` put artifacts by default: never uploaded again) are left out, only regular files and
 * symlinks are listed, and symlinks are never followed: the archive stores the link itself.
 */
import { execFile } from 'node:child_process';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import ignore from 'ignore';

export interface ProjectFile {
  /** Posix path relative to the project root. */
  path: string;
  /** Bytes (for a symlink: the length of its target path, as lstat reports it). */
  size: number;
  type: 'file' | 'symlink';
}

export type FileListErrorCode = 'PROJECT_DIR_NOT_FOUND' | 'GIT_FAILED';

export class FileListError extends Error {
  constructor(readonly code: FileListErrorCode, message: string) {
    super(message);
    this.name = 'FileListError';
  }
}

/** Never packed, whatever the ignore files say or git tracks. */
const ALWAYS_EXCLUDED = new Set(['node_modules', '.git']);
const EASIGNORE = '.easignore';
const GITIGNORE = '.gitignore';
/** Bounds concurrent lstat calls on large git file lists. */
const LSTAT_BATCH = 256;

const execFileAsync = promisify(execFile);

export async function listProjectFiles(projectDir: string): Promise<ProjectFile[]> {
  const root = resolve(projectDir);
  // stat, not lstat: the project root itself may be reached through a symlink.
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new FileListError('PROJECT_DIR_NOT_FOUND', `project directory not found: ${root}`);
  }

  let files: ProjectFile[];
  const easignore = await readFile(join(root, EASIGNORE), 'utf8').catch(() => undefined);
  if (easignore !== undefined) {
    const rules = ignore().add(easignore);
    files = await walk(root, (_absDir, relDir) => (relDir === '' ? [{ base: '', rules }] : []));
  } else if (await isInGitWorkTree(root)) {
    files = await listGitFiles(root);
  } else {
    files = await walk(root, readGitignoreRules);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// git mode

async function isInGitWorkTree(dir: string): Promise<boolean> {
  // Any failure (not a repository, git not installed, unusable repository) means "no git": the
  // walk with .gitignore rules is then the closest eas-cli behaviour (its EAS_NO_VCS mode).
  try {
    await execFileAsync('git', ['rev-parse', '--show-toplevel'], { cwd: dir });
    return true;
  } catch {
    return false;
  }
}

async function listGitFiles(root: string): Promise<ProjectFile[]> {
  let stdout: string;
  try {
    // Run in the project dir: git then limits the list to it and prints paths relative to it,
    // which is what makes a project in a subdirectory of a monorepo work. -z: no path quoting.
    ({ stdout } = await execFileAsync(
      'git',
      ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      { cwd: root, maxBuffer: 1024 ** 3, env: { ...process.env, LC_ALL: 'C' } },
    ));
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new FileListError('GIT_FAILED', `git ls-files failed in ${root}: ${detail}`);
  }
  // An unmerged path is listed once per conflict stage; keep it once.
  const paths = [...new Set(stdout.split('\0'))].filter((p) => p !== '' && !isAlwaysExcluded(p));

  const files: ProjectFile[] = [];
  for (let i = 0; i < paths.length; i += LSTAT_BATCH) {
    const batch = await Promise.all(paths.slice(i, i + LSTAT_BATCH).map((p) => statEntry(root, p)));
    // undefined: tracked but deleted from the work tree, or a directory (submodule, nested repo).
    for (const file of batch) if (file) files.push(file);
  }
  return files;
}

/** The default download directory (`build --output`, `download --output`), relative to the project root. */
export const DEFAULT_DOWNLOAD_DIR = 'build-artifacts';

function isAlwaysExcluded(relPath: string): boolean {
  if (relPath === DEFAULT_DOWNLOAD_DIR || relPath.startsWith(`${DEFAULT_DOWNLOAD_DIR}/`)) return true;
  return relPath.split('/').some((segment) => ALWAYS_EXCLUDED.has(segment));
}

// ---------------------------------------------------------------------------------------------
// walk mode (.easignore, or no git)

/** Ignore rules read from one directory, matched against paths relative to that directory. */
interface RuleSet {
  /** Directory of the rules, posix, relative to the project root ('' for the root). */
  base: string;
  rules: ReturnType<typeof ignore>;
}

/** The rule sets a directory adds to the ones inherited from its parents. */
type RulesForDir = (absDir: string, relDir: string) => Promise<RuleSet[]> | RuleSet[];

async function readGitignoreRules(absDir: string, relDir: string): Promise<RuleSet[]> {
  const text = await readFile(join(absDir, GITIGNORE), 'utf8').catch(() => undefined);
  return text === undefined ? [] : [{ base: relDir, rules: ignore().add(text) }];
}

/**
 * Walks the project, descending only into directories that are not ignored (as git does: a file
 * inside an ignored directory cannot be re-included). `rulesFor` gives each directory's own rules:
 * the .easignore mode gives the root's .easignore once, the no-git mode reads every .gitignore.
 */
async function walk(root: string, rulesFor: RulesForDir): Promise<ProjectFile[]> {
  const files: ProjectFile[] = [];
  const visit = async (relDir: string, inherited: RuleSet[]): Promise<void> => {
    const absDir = relDir === '' ? root : join(root, relDir);
    const own = await rulesFor(absDir, relDir);
    const ruleSets = own.length === 0 ? inherited : [...inherited, ...own];
    const entries = await readdir(absDir, { withFileTypes: true });
    await Promise.all(entries.map(async (entry) => {
      if (ALWAYS_EXCLUDED.has(entry.name)) return;
      const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (relPath === DEFAULT_DOWNLOAD_DIR) return;
      const isDir = entry.isDirectory();
      if (isIgnored(ruleSets, relPath, isDir)) return;
      if (isDir) return visit(relPath, ruleSets);
      if (entry.isFile() || entry.isSymbolicLink()) {
        const file = await statEntry(root, relPath);
        if (file) files.push(file);
      }
      // Sockets, FIFOs and devices are skipped: they have no content to ship.
    }));
  };
  await visit('', []);
  return files;
}

/** Git precedence: rules are consulted from the root down, and a deeper match overrides. */
function isIgnored(ruleSets: RuleSet[], relPath: string, isDir: boolean): boolean {
  let ignored = false;
  for (const { base, rules } of ruleSets) {
    const local = base === '' ? relPath : posix.relative(base, relPath);
    // A trailing slash lets directory-only patterns (`build/`) match directories only.
    const result = rules.test(isDir ? `${local}/` : local);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

// ---------------------------------------------------------------------------------------------

/** lstat (never stat: symlinks stay links); undefined when missing or not a file or symlink. */
async function statEntry(root: string, relPath: string): Promise<ProjectFile | undefined> {
  const st = await lstat(join(root, relPath)).catch(() => undefined);
  if (st?.isFile()) return { path: relPath, size: st.size, type: 'file' };
  if (st?.isSymbolicLink()) return { path: relPath, size: st.size, type: 'symlink' };
  return undefined;
}
