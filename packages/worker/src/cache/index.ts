/**
 * Warm builds: the worker's per-org dependency caches (store.ts, phases.ts) and the toolchain
 * versions a profile asks for (toolchains.ts), added around a build's plan by `warmBuildPhases`.
 */
import type { BuildJob } from '@buildmesh/protocol';
import type { Phase } from '../runner/plan.js';
import { workspaceLayout } from '../workspace/workspace.js';
import { withCachePhases } from './phases.js';
import { CacheStore } from './store.js';
import { ToolchainInstaller, toolchainPhase } from './toolchains.js';

export { CacheStore, formatBytes, type CacheEntryInfo } from './store.js';
export { ToolchainInstaller, DEFAULT_TOOLCHAIN_REGISTRY } from './toolchains.js';
export { restoreCaches, saveCaches } from './phases.js';

export interface WorkerCache {
  store: CacheStore;
  toolchains: ToolchainInstaller;
}

export async function openWorkerCache(dir: string, maxBytes: number, registry?: string): Promise<WorkerCache> {
  const store = new CacheStore(dir, maxBytes);
  const toolchains = new ToolchainInstaller(dir, registry);
  await store.init();
  await toolchains.init();
  return { store, toolchains };
}

/**
 * The plan with SET_UP_TOOLCHAINS first (when the profile names versions or corepack), and, for the
 * Expo pipelines (`caches` true), RESTORE_CACHE before everything else (before any command of the
 * build has run) and SAVE_CACHE last.
 */
export function warmBuildPhases(
  phases: Phase[],
  options: { cache: WorkerCache | undefined; job: BuildJob; workspaceRoot: string; homeDir: string; tmpDir?: string; caches: boolean },
): Phase[] {
  const { cache, job } = options;
  const tools = toolchainPhase(job.build.profile, cache?.toolchains, options.workspaceRoot);
  const withTools = tools ? [tools, ...phases] : phases;
  return cache && options.caches ? withCachePhases(withTools, { store: cache.store, job, homeDir: options.homeDir, tmpDir: options.tmpDir ?? workspaceLayout(options.workspaceRoot).tmpDir }) : withTools;
}
