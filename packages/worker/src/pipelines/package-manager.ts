/**
 * Which package manager a project uses, read from its lockfile, and the exact install commands EAS
 * runs with it (build-tools' common/installDependencies.ts and utils/packageManager.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { readHeadSync } from '../workspace/inside.js';

export type PackageManagerName = 'npm' | 'yarn' | 'pnpm' | 'bun';

export interface PackageManager {
  name: PackageManagerName;
  /** Yarn only: classic (1.x) or berry (2+), whose install flags differ. */
  yarnFlavor?: 'classic' | 'berry';
  /** The lockfile the choice was made from, relative to the project; null when there is none. */
  lockfile: string | null;
  /** Things a person should know (no lockfile, several lockfiles); logged with the plan. */
  warnings: string[];
}

/**
 * Lockfiles in the order @expo/package-manager resolves them when a project has several.
 * bun.lock is bun's text lockfile (1.2+), bun.lockb the binary one.
 */
const LOCKFILES: ReadonlyArray<[string, PackageManagerName]> = [
  ['bun.lockb', 'bun'],
  ['bun.lock', 'bun'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
];

export interface PackageJson {
  name?: unknown;
  scripts?: Record<string, unknown>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  packageManager?: unknown;
  [key: string]: unknown;
}

function readPackageJsonAt(dir: string): PackageJson | null {
  try {
    const parsed: unknown = JSON.parse(readHeadSync(join(dir, 'package.json'), 16 * 1024 * 1024) ?? '');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as PackageJson) : null;
  } catch {
    return null;
  }
}

/** A workspace root: pnpm-workspace.yaml, or a package.json with `workspaces` (npm, yarn, bun: a list or { packages }). */
function isWorkspaceRoot(dir: string): boolean {
  if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return true;
  const workspaces = readPackageJsonAt(dir)?.workspaces;
  return Array.isArray(workspaces) || (typeof workspaces === 'object' && workspaces !== null && Array.isArray((workspaces as { packages?: unknown }).packages));
}

/**
 * Where dependencies are installed (EAS installs at the workspace root): the app's folder when it
 * holds a lockfile or is a workspace root itself, else the nearest folder above it, up to the
 * source root, that holds a lockfile or declares workspaces; the app's folder when none does.
 */
export function resolveInstallDir(sourceRoot: string, projectDir: string): string {
  const inside = (dir: string) => !relative(sourceRoot, dir).startsWith('..');
  for (let dir = projectDir; inside(dir); dir = dirname(dir)) {
    if (LOCKFILES.some(([file]) => existsSync(join(dir, file))) || isWorkspaceRoot(dir)) return dir;
    if (dir === sourceRoot || dirname(dir) === dir) break;
  }
  return projectDir;
}

/** The package manager of the folder dependencies are installed in (its lockfile, its package.json's packageManager). */
export function detectInstallPackageManager(installDir: string, projectDir: string, projectPackageJson: PackageJson | null): PackageManager {
  return installDir === projectDir ? detectPackageManager(projectDir, projectPackageJson) : detectPackageManager(installDir, readPackageJsonAt(installDir));
}

export function detectPackageManager(projectDir: string, packageJson: PackageJson | null): PackageManager {
  const present = LOCKFILES.filter(([file]) => existsSync(join(projectDir, file)));
  const warnings: string[] = [];
  if (present.length === 0) {
    // EAS falls back to yarn when there is no lockfile; a `packageManager` field naming another wins
    // (and a pnpm-workspace.yaml means pnpm).
    const declared = typeof packageJson?.packageManager === 'string' ? /^(npm|yarn|pnpm|bun)@/.exec(packageJson.packageManager)?.[1] : undefined;
    const name = (declared ?? (existsSync(join(projectDir, 'pnpm-workspace.yaml')) ? 'pnpm' : 'yarn')) as PackageManagerName;
    warnings.push(
      `No lockfile (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock or bun.lockb) was found; using ${name} without a frozen ` +
        'lockfile, so dependency versions may differ from your machine. Commit your lockfile for reproducible builds.',
    );
    if (name !== 'yarn') return { name, lockfile: null, warnings };
    return { name, yarnFlavor: detectYarnFlavor(projectDir, packageJson, null), lockfile: null, warnings };
  }
  const [lockfile, name] = present[0]!;
  const others = [...new Set(present.slice(1).map(([, n]) => n))].filter((n) => n !== name);
  if (others.length > 0) {
    warnings.push(`Several package managers' lockfiles were found; using ${name} (${lockfile}). Remove the lockfiles of ${others.join(', ')}.`);
  }
  if (name !== 'yarn') return { name, lockfile, warnings };
  return { name, yarnFlavor: detectYarnFlavor(projectDir, packageJson, lockfile), lockfile, warnings };
}

/**
 * Yarn berry, when the project says so: a `packageManager` of yarn@2 or later (yarn@1 means
 * classic), else a .yarnrc.yml, else a berry-format yarn.lock (it starts with `__metadata`).
 */
function detectYarnFlavor(projectDir: string, packageJson: PackageJson | null, lockfile: string | null): 'classic' | 'berry' {
  const declared = typeof packageJson?.packageManager === 'string' ? /^yarn@(\d+)/.exec(packageJson.packageManager) : null;
  if (declared) return Number(declared[1]) >= 2 ? 'berry' : 'classic';
  if (existsSync(join(projectDir, '.yarnrc.yml'))) return 'berry';
  if (lockfile === null) return 'classic';
  try {
    // __metadata is the first key of a berry lockfile; reading the head is enough.
    // Never through a link or into a FIFO: the install's scripts may have replaced the lockfile.
    const head = readHeadSync(join(projectDir, lockfile), 4096) ?? '';
    if (/^__metadata:/m.test(head)) return 'berry';
  } catch {
    // unreadable: fall through to classic, and let the install report the problem
  }
  return 'classic';
}

/** The install argv, as EAS runs it; `frozen` false is also what EAS uses after prebuild. */
export function installCommand(pm: PackageManager, frozen: boolean): string[] {
  switch (pm.name) {
    case 'npm':
      return ['npm', frozen ? 'ci' : 'install', '--include=dev'];
    case 'pnpm':
      return ['pnpm', 'install', frozen ? '--frozen-lockfile' : '--no-frozen-lockfile'];
    case 'bun':
      return ['bun', 'install', ...(frozen ? ['--frozen-lockfile'] : [])];
    case 'yarn':
      return pm.yarnFlavor === 'berry'
        ? ['yarn', 'install', '--inline-builds', frozen ? '--immutable' : '--no-immutable']
        : ['yarn', 'install', ...(frozen ? ['--frozen-lockfile'] : []), '--production', 'false'];
  }
}

/**
 * `<pm> run <script>`: how EAS runs the eas-build-* hooks. The pre-install hook always runs with
 * npm, as on EAS: before the install, yarn or pnpm may not be set up yet (the hook often enables
 * corepack for them).
 */
export function runScriptCommand(pm: PackageManager, script: string): string[] {
  if (script === 'eas-build-pre-install') return ['npm', 'run', script];
  return [pm.name, 'run', script];
}

/** The first x.y.z in a version range ("~57.0.1" → [57, 0, 1]), like semver.coerce. */
function coerceVersion(range: unknown): [number, number, number] | null {
  if (typeof range !== 'string') return null;
  const m = /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(range);
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : null;
}

function isBelow(version: [number, number, number], floor: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (version[i] !== floor[i]) return version[i]! < floor[i]!;
  return false;
}

function dependencyVersion(packageJson: PackageJson | null, name: string): [number, number, number] | null {
  return coerceVersion(packageJson?.dependencies?.[name] ?? packageJson?.devDependencies?.[name]);
}

/**
 * EAS's shouldUseFrozenLockfile: frozen unless EAS_NO_FROZEN_LOCKFILE is set, or the project is
 * older than Expo SDK 53 / React Native 0.79 (which could not install with a frozen lockfile), or
 * there is no lockfile to freeze.
 */
export function shouldUseFrozenLockfile(pm: PackageManager, packageJson: PackageJson | null, env: Record<string, string>): boolean {
  if (pm.lockfile === null) return false;
  if (env.EAS_NO_FROZEN_LOCKFILE) return false;
  const sdk = dependencyVersion(packageJson, 'expo');
  if (sdk && isBelow(sdk, [53, 0, 0])) return false;
  const rn = dependencyVersion(packageJson, 'react-native');
  if (rn && isBelow(rn, [0, 79, 0])) return false;
  return true;
}
