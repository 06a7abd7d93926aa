/**
 * `buildmesh worker cache ls|clear`: the dependency caches a worker on this machine keeps (one
 * directory per org; see the README's warm builds section). Reads the worker's cache dir directly,
 * with the same --work-dir / --cache-dir / env resolution as `buildmesh worker`.
 */
import type { Command } from 'commander';
import { action, command, group } from '../command-kit.js';
import { loadWorker } from '../server-modules.js';
import { createOutput, formatAgo, renderTable, type Output } from '../output.js';

interface CacheCliOptions {
  json?: boolean;
  workDir?: string;
  cacheDir?: string;
  org?: string;
}

/**
 * Options given to this subcommand or, before it, to `worker` (which knows --work-dir, --cache-dir
 * and --json too, so commander may hand them to it), and the output --json asks for.
 */
function merged(cmd: Command, opts: CacheCliOptions, out: Output): { o: CacheCliOptions; out: Output } {
  const o = { ...cmd.parent?.parent?.opts<CacheCliOptions>(), ...cmd.parent?.opts<CacheCliOptions>(), ...opts };
  return { o, out: o.json && !out.json ? createOutput({ json: true }) : out };
}

async function openStore(opts: CacheCliOptions) {
  const { CacheStore, resolveCacheOptions, formatBytes } = await loadWorker();
  const resolved = resolveCacheOptions({ ...(opts.workDir ? { workDir: opts.workDir } : {}), ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}) });
  return { store: new CacheStore(resolved.cacheDir, resolved.cacheMaxGb * 1024 ** 3), resolved, formatBytes };
}

const where = (cmd: Command): Command =>
  cmd
    .option('--work-dir <dir>', "the worker's work dir (env BUILDMESH_WORK_DIR)")
    .option('--cache-dir <dir>', "the worker's cache dir (env BUILDMESH_CACHE_DIR, default <work dir>/cache)")
    .option('--org <id>', 'only this org’s entries');

const lsCommand = action<CacheCliOptions>(
  where(command('ls', 'List cache entries: org, kind, key, size, last used (most recent first)', ['buildmesh worker cache ls', 'buildmesh worker cache ls --org org_01jb… --json'])),
  async ({ out: given, opts, cmd }) => {
    const { o, out } = merged(cmd, opts, given);
    const { store, resolved, formatBytes } = await openStore(o);
    const entries = (await store.list(o.org)).sort((a, b) => b.usedAt.localeCompare(a.usedAt));
    const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
    if (out.json) {
      out.printJson({ cacheDir: resolved.cacheDir, maxBytes: store.maxBytes, totalBytes: total, entries });
      return;
    }
    if (!entries.length) {
      out.info(`No cache entries in ${resolved.cacheDir}.`);
      return;
    }
    out.info(renderTable(entries, [
      { header: 'ORG', value: (e) => e.orgId, max: 32 },
      { header: 'KIND', value: (e) => e.kind },
      { header: 'KEY', value: (e) => e.key, max: 60 },
      { header: 'PATHS', value: (e) => e.paths.join(','), max: 48 },
      { header: 'SIZE', value: (e) => formatBytes(e.sizeBytes) },
      { header: 'LAST USED', value: (e) => formatAgo(e.usedAt) },
    ], out.c));
    out.info(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${formatBytes(total)} of at most ${formatBytes(store.maxBytes)} in ${resolved.cacheDir}`);
  },
);

const clearCommand = action<CacheCliOptions>(
  where(command('clear', 'Remove cache entries (all orgs, or --org); installed toolchains stay', ['buildmesh worker cache clear', 'buildmesh worker cache clear --org org_01jb…'])),
  async ({ out: given, opts, cmd }) => {
    const { o, out } = merged(cmd, opts, given);
    const { store, resolved } = await openStore(o);
    const removed = await store.clear(o.org);
    if (out.json) out.printJson({ cacheDir: resolved.cacheDir, removed });
    else out.info(`Removed ${removed} cache entr${removed === 1 ? 'y' : 'ies'} from ${resolved.cacheDir}.`);
  },
);

export const workerCacheCommand = group('cache', "The worker's dependency caches on this machine: `ls` and `clear`", ['buildmesh worker cache ls', 'buildmesh worker cache clear --org ORG_ID'], [
  lsCommand,
  clearCommand,
]);
