/**
 * RESTORE_CACHE and SAVE_CACHE, named as EAS names them. What is cached, per build:
 *  - the package manager's store, picked from the lockfile: npm `~/.npm`, yarn `~/.cache/yarn` and
 *    `~/.yarn/berry/cache`, pnpm `~/.local/share/pnpm/store` and `~/Library/pnpm/store`, bun
 *    `~/.bun/install/cache`;
 *  - android: Gradle's `~/.gradle/caches` and `~/.gradle/wrapper/dists`;
 *  - ios: CocoaPods' specs repos `~/.cocoapods/repos` and pods cache `~/Library/Caches/CocoaPods`;
 *  - the project's `node_modules`, keyed by the exact lockfile, package.json and Node.js version (no stand-in on
 *    a miss): on a hit for a project whose package.json has no install lifecycle scripts, the
 *    install is skipped (INSTALL_DEPENDENCIES says why), since it would rebuild the same tree;
 *  - Metro's transform cache (`$TMPDIR/metro-cache`) for projects that use expo or react-native;
 *  - the profile's `cache.paths` (relative to the project, or `~/…` for the build's home).
 * Each kind is one entry keyed by org (its directory), kind, platform, eas.json's `cache.key` and
 * the sha256 of the lockfile (Podfile.lock for CocoaPods when there is one). When the exact key
 * misses, the most recently used entry of the same kind, platform and cache.key stands in (a
 * lockfile change then downloads only what changed). `cache.disabled` turns both phases off.
 *
 * RESTORE_CACHE runs first, before any build command, so nothing of the build can have placed a
 * link on the way; SAVE_CACHE runs last and only when every phase succeeded (a failed or stopped
 * build saves nothing, and what it restored is gone with its workspace). Paths are walked one
 * component at a time with lstat: a directory reached through a symlink is neither restored into
 * nor saved.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildJob } from '@buildmesh/protocol';
import { detectInstallPackageManager, resolveInstallDir, type PackageJson } from '../pipelines/package-manager.js';
import type { Phase, PhaseContext } from '../runner/plan.js';
import { formatBytes, type CacheStore } from './store.js';

export interface CacheSpec {
  kind: string;
  /** `~/…` (the build's HOME), `$TMPDIR/…` (its TMPDIR) or relative to the project. */
  paths: string[];
  /** The file whose hash keys the entry, relative to the project; null: none (key without it). */
  keyFile: string | null;
  /** Only the exact key restores it (no older entry stands in); the key also names the Node.js version. */
  exactOnly?: boolean;
}

/** Root scripts `npm ci` (and the others' installs) run: a project with any of them is always installed. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare', 'dependencies'];

/** Why INSTALL_DEPENDENCIES may be skipped after a node_modules hit, or undefined when it may not. */
function installSkippable(packageJson: PackageJson | null): boolean {
  const scripts = packageJson?.scripts;
  return !(typeof scripts === 'object' && scripts !== null && INSTALL_SCRIPTS.some((name) => name in scripts));
}

const PM_STORES: Record<string, string[]> = {
  npm: ['~/.npm'],
  yarn: ['~/.cache/yarn', '~/.yarn/berry/cache'],
  pnpm: ['~/.local/share/pnpm/store', '~/Library/pnpm/store'],
  bun: ['~/.bun/install/cache'],
};

/** What this build caches (empty when `cache.disabled`). */
export async function cacheSpecs(job: BuildJob, projectDir: string, repoDir: string = projectDir): Promise<CacheSpec[]> {
  const profile = job.build.profile;
  if (profile.cache?.disabled) return [];
  // No package.json: npm, without a lockfile.
  const packageJson = await readPackageJson(projectDir);
  // A monorepo app installs at its workspace root: that folder's package manager. Its lockfile lies
  // above the app, so caches are keyed without it (the closest older entry is restored), and
  // node_modules (one per workspace package) is not cached.
  const installDir = resolveInstallDir(repoDir, projectDir);
  const pm = detectInstallPackageManager(installDir, projectDir, packageJson);
  const lockfile = installDir === projectDir ? pm.lockfile : null;
  const specs: CacheSpec[] = [{ kind: pm.name, paths: PM_STORES[pm.name]!, keyFile: lockfile }];
  if (lockfile) specs.push({ kind: 'node_modules', paths: ['node_modules'], keyFile: lockfile, exactOnly: true });
  const deps = { ...(packageJson?.dependencies ?? {}), ...(packageJson?.devDependencies ?? {}) };
  if ('expo' in deps || 'react-native' in deps) specs.push({ kind: 'metro', paths: ['$TMPDIR/metro-cache'], keyFile: lockfile });
  if (job.build.platform === 'android') specs.push({ kind: 'gradle', paths: ['~/.gradle/caches', '~/.gradle/wrapper/dists'], keyFile: lockfile });
  if (job.build.platform === 'ios') {
    const podfileLock = (await lstat(path.join(projectDir, 'ios', 'Podfile.lock')).catch(() => undefined))?.isFile() ? 'ios/Podfile.lock' : lockfile;
    specs.push({ kind: 'cocoapods', paths: ['~/.cocoapods/repos', '~/Library/Caches/CocoaPods'], keyFile: podfileLock });
  }
  const custom = (profile.cache?.paths ?? []).map((p) => p.trim()).filter(Boolean);
  if (custom.length) specs.push({ kind: 'paths', paths: custom, keyFile: lockfile });
  return specs;
}

/**
 * A label's place in the workspace, walked component by component below its root (the project or
 * the home directory): undefined when it escapes the root or passes through a symlink or a file.
 * With `create`, missing parent directories are made on the way.
 */
export async function safePath(roots: { projectDir: string; homeDir: string; tmpDir?: string }, label: string, create: boolean): Promise<string | undefined> {
  const home = label === '~' || label.startsWith('~/');
  const tmp = label.startsWith('$TMPDIR/');
  if (tmp && !roots.tmpDir) return undefined;
  const root = home ? roots.homeDir : tmp ? roots.tmpDir! : roots.projectDir;
  const rel = path.posix.normalize(home ? label.slice(1).replace(/^\/+/, '') : tmp ? label.slice('$TMPDIR/'.length) : label);
  if (rel === '' || rel === '.' || path.posix.isAbsolute(rel) || rel === '..' || rel.startsWith('../')) return undefined;
  const parts = rel.split('/').filter((p) => p && p !== '.');
  // The root too (project/, home/, tmp/): a build that could swap one for a link must not redirect a save.
  if (!(await lstat(root).catch(() => undefined))?.isDirectory()) return undefined;
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (!info) {
      if (!create) return undefined;
      await mkdir(current);
      continue;
    }
    if (!info.isDirectory()) return undefined;
  }
  const target = path.join(current, parts[parts.length - 1]!);
  const info = await lstat(target).catch(() => undefined);
  if (info?.isSymbolicLink()) return undefined;
  return target;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface Keyed {
  spec: CacheSpec;
  key: string;
  prefix: string;
}

async function keyOf(job: BuildJob, projectDir: string, spec: CacheSpec): Promise<Keyed> {
  const roots = { projectDir, homeDir: projectDir };
  const file = spec.keyFile ? await safePath(roots, spec.keyFile, false) : undefined;
  const fileHash = file && (await lstat(file).catch(() => undefined))?.isFile() ? (await sha256File(file)).slice(0, 16) : 'none';
  // node_modules also follows package.json: a change there must reach the install (npm ci refuses a
  // package.json the lockfile does not match, and that refusal must not be skipped).
  const pkg = spec.exactOnly ? await safePath(roots, 'package.json', false) : undefined;
  const pkgHash = pkg && (await lstat(pkg).catch(() => undefined))?.isFile() ? `|package.json:${(await sha256File(pkg)).slice(0, 16)}` : '';
  const node = spec.exactOnly ? `${pkgHash}|node:${job.build.profile.node?.replace(/^v/, '') ?? process.versions.node}` : '';
  const prefix = [spec.kind, job.build.platform, job.build.profile.cache?.key ?? ''].join('|');
  const key = `${prefix}|${spec.keyFile ?? 'no-lockfile'}:${fileHash}${node}`;
  // An exact-only kind gets a prefix no other key shares: nothing stands in for it.
  return { spec, prefix: spec.exactOnly ? key : prefix, key };
}

export interface CachePhaseOptions {
  store: CacheStore;
  job: BuildJob;
  homeDir: string;
  /** The build's TMPDIR (`$TMPDIR/…` paths). */
  tmpDir?: string;
  /**
   * Called by RESTORE_CACHE when node_modules was restored for this exact lockfile and the install
   * may be skipped, with the reason to log.
   */
  onInstallSkippable?: (reason: string) => void;
  /**
   * Keys as RESTORE_CACHE computed them, from the project as submitted: SAVE_CACHE saves under the
   * same keys even when the install rewrote the lockfile.
   */
  keys?: Map<string, Keyed>;
}

/**
 * Wraps a plan: RESTORE_CACHE first, SAVE_CACHE last (success only), sharing one set of keys. When
 * RESTORE_CACHE finds node_modules for the exact lockfile, the plan's INSTALL_DEPENDENCIES is
 * replaced (in the returned array, before the runner reaches it) by one that says why it is skipped.
 */
export function withCachePhases(phases: Phase[], options: CachePhaseOptions): Phase[] {
  const plan: Phase[] = [];
  const shared: CachePhaseOptions = {
    ...options,
    keys: new Map<string, Keyed>(),
    onInstallSkippable: (reason) => {
      const at = plan.findIndex((p) => p.name === 'INSTALL_DEPENDENCIES');
      if (at < 0) return;
      plan[at] = {
        name: 'INSTALL_DEPENDENCIES',
        title: plan[at]!.title ?? 'INSTALL_DEPENDENCIES',
        steps: [{ kind: 'task', describe: 'skip the install', run: async ({ log }) => log(`Skipped: ${reason}.`) }],
      };
    },
  };
  plan.push(restoreCachePhase(shared), ...phases, saveCachePhase(shared));
  return plan;
}

function why(options: CachePhaseOptions): string | undefined {
  if (options.job.build.profile.cache?.disabled) return 'cache.disabled is set in the build profile: nothing is restored or saved';
  if (!options.job.build.orgId) return "the controller did not say which org the build belongs to: caches are not used";
  if (options.store.maxBytes <= 0) return 'the worker keeps no cache (--cache-max-gb 0)';
  return undefined;
}

export function restoreCachePhase(options: CachePhaseOptions): Phase {
  return {
    name: 'RESTORE_CACHE',
    title: 'Restore cache',
    optional: true,
    steps: [{ kind: 'task', describe: 'restore the dependency caches of this org', run: (ctx) => restoreCaches(options, ctx) }],
  };
}

export function saveCachePhase(options: CachePhaseOptions): Phase {
  return {
    name: 'SAVE_CACHE',
    title: 'Save cache',
    optional: true,
    steps: [{ kind: 'task', describe: 'save the dependency caches of this org', run: (ctx) => saveCaches(options, ctx) }],
  };
}

export async function restoreCaches(options: CachePhaseOptions, ctx: Pick<PhaseContext, 'projectDir' | 'repoDir' | 'log'>): Promise<void> {
  const skip = why(options);
  if (skip) return ctx.log(`Skipped: ${skip}.`);
  const orgId = options.job.build.orgId!;
  const roots = { projectDir: ctx.projectDir, homeDir: options.homeDir, tmpDir: options.tmpDir };
  options.keys ??= new Map();
  for (const spec of await cacheSpecs(options.job, ctx.projectDir, ctx.repoDir)) {
    const keyed = await keyOf(options.job, ctx.projectDir, spec);
    options.keys.set(spec.kind, keyed);
    const { key, prefix } = keyed;
    const targets = new Map<string, string>();
    for (const label of spec.paths) {
      const target = await safePath(roots, label, true);
      if (target) targets.set(label, target);
      else ctx.log(`${spec.kind}: ${label} is not a plain path inside the project or home directory; not restored.`);
    }
    const hit = await options.store.checkout(orgId, key, prefix, (label) => targets.get(label));
    if (!hit) {
      ctx.log(`${spec.kind} (${spec.paths.join(', ')}): cache miss for key ${key}.`);
      continue;
    }
    const what = `${hit.meta.paths.join(', ')}: ${formatBytes(hit.meta.sizeBytes)}, saved ${hit.meta.savedAt}`;
    if (hit.exact) ctx.log(`${spec.kind}: cache hit for key ${key} (${what}).`);
    else ctx.log(`${spec.kind}: cache miss for key ${key}; restored the closest older entry ${hit.meta.key} instead (${what}).`);
    if (spec.kind === 'node_modules' && hit.exact && hit.restored.includes('node_modules')) {
      if (installSkippable(await readPackageJson(ctx.projectDir))) {
        const reason = `node_modules was restored from a successful build of this exact ${spec.keyFile} and package.json with Node.js ${key.split('|node:')[1]}; installing again would build the same tree`;
        ctx.log(`INSTALL_DEPENDENCIES will be skipped: ${reason}.`);
        options.onInstallSkippable?.(reason);
      } else {
        ctx.log('node_modules restored, but package.json has install lifecycle scripts: dependencies are installed as usual.');
      }
    }
  }
}

async function readPackageJson(projectDir: string): Promise<PackageJson | null> {
  try {
    return JSON.parse(await readFile(path.join(projectDir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return null;
  }
}

export async function saveCaches(options: CachePhaseOptions, ctx: Pick<PhaseContext, 'projectDir' | 'repoDir' | 'log'>): Promise<void> {
  const skip = why(options);
  if (skip) return ctx.log(`Skipped: ${skip}.`);
  const orgId = options.job.build.orgId!;
  const roots = { projectDir: ctx.projectDir, homeDir: options.homeDir, tmpDir: options.tmpDir };
  // What RESTORE_CACHE decided from the project as submitted, before any build code ran: by now
  // package.json or the lockfile may be a FIFO or a symlink to /dev/zero, which must not be read here.
  const keyed = options.keys?.size
    ? [...options.keys.values()]
    : await Promise.all((await cacheSpecs(options.job, ctx.projectDir, ctx.repoDir)).map((spec) => keyOf(options.job, ctx.projectDir, spec)));
  for (const { spec, key, prefix } of keyed) {
    const sources: { label: string; dir: string }[] = [];
    const absent: string[] = [];
    for (const label of spec.paths) {
      const dir = await safePath(roots, label, false);
      if (dir && (await lstat(dir).catch(() => undefined))?.isDirectory()) sources.push({ label, dir });
      else absent.push(label);
    }
    const saved = sources.length ? await options.store.save(orgId, { kind: spec.kind, key, prefix }, sources) : undefined;
    if (saved) ctx.log(`${spec.kind}: saved ${saved.paths.join(', ')} (${formatBytes(saved.sizeBytes)}) under key ${key}.`);
    if (absent.length) ctx.log(`${spec.kind}: nothing to save at ${absent.join(', ')}.`);
  }
  const total = (await options.store.list()).reduce((sum, e) => sum + e.sizeBytes, 0);
  ctx.log(`The worker's cache holds ${formatBytes(total)} of at most ${formatBytes(options.store.maxBytes)}.`);
}
