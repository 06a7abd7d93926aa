/**
 * The worker agent: detect capabilities → enroll or say hello → sweep stale
 * workspaces → one claim long-poll per free slot → each claimed job runs as an
 * attempt (runner/run-attempt.ts) → repeat. `buildmesh worker` and `buildmesh up`
 * call startWorker; `main.ts` is the process entry.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { BuildJob } from '@buildmesh/protocol';
import { detectCapabilities } from './capabilities.js';
import { resolveWorkerOptions, type WorkerOptions } from './config.js';
import { establishIdentity } from './identity.js';
import { createWorkerLogger, type WorkerLogger } from './logger.js';
import { startClaimLoop } from './loops/claim-loop.js';
import { describeError } from './retry.js';
import { startAttempt, type AttemptDeps, type AttemptHandle } from './runner/run-attempt.js';
import { toolchainPaths } from './sandbox/bwrap.js';
import { openWorkerCache } from './cache/index.js';
import { selectExecutor } from './sandbox/select.js';
import { sweepStaleWorkspaces } from './workspace/workspace.js';

export { CacheStore, formatBytes, type CacheEntryInfo } from './cache/index.js';
export { WORKER_OPTIONS, resolveCacheOptions, resolveWorkerOptions, parseLabels, parseBuildUser, WorkerConfigError, type WorkerOptions, type SandboxMode } from './config.js';
export { detectCapabilities, detectToolchains, type Toolchains } from './capabilities.js';
export { probeBwrap } from './sandbox/select.js';
export type { WorkerLogger } from './logger.js';

export interface RunningWorker {
  workerId: string;
  /** Stop claiming; running builds finish and report. Resolves when they have. */
  drain(): Promise<void>;
  /** Stop claiming and hand running builds back: their processes are stopped and the builds requeued. */
  stop(): Promise<void>;
  /** Resolves when the worker has stopped (after drain or stop); rejects if the controller refused it for good. */
  done: Promise<void>;
}

export const WORKER_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/**
 * Files of the worker's machine a build must never read. The bwrap executor binds only the system,
 * a few /etc entries and the detected toolchains, so none of these exists inside unless one of
 * those binds contains it (a toolchain in the home directory, an SDK next to a work dir): then it
 * is covered. The whole work dir is among them: other attempts' workspaces hold their decrypted
 * signing credentials (the executor binds the build's own workspace back on top).
 */
export function hiddenPaths(options: WorkerOptions): string[] {
  const home = homedir();
  const paths = [options.workDir, options.cacheDir, options.configDir, join(home, '.config', 'buildmesh'), ...options.hidePaths];
  if (options.enrollmentTokenFile) paths.push(options.enrollmentTokenFile);
  for (const secret of ['.ssh', '.aws', '.gnupg', '.docker', '.kube', '.netrc', '.npmrc', '.git-credentials', '.config/gh', '.config/gcloud']) {
    paths.push(join(home, secret));
  }
  return paths;
}

let warnedUnconfined = false;

/** Loud (the log and stderr), once per process: builds will run unconfined although nobody asked for it. */
function warnUnconfinedOnce(warning: string, logger: WorkerLogger): void {
  if (warnedUnconfined) return;
  warnedUnconfined = true;
  logger.warn({ executor: 'none' }, warning);
  process.stderr.write(`\n!!! buildmesh worker: ${warning}\n\n`);
}

export async function startWorker(overrides: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
  const options = resolveWorkerOptions(overrides);
  const logger = options.logger ?? createWorkerLogger(options.logLevel);
  const stopping = new AbortController();

  // Before the executor: the toolchain directory must exist to be bound (read-only) into the sandbox.
  const cache = await openWorkerCache(options.cacheDir, options.cacheMaxGb * 1024 ** 3, options.toolchainRegistry);
  const [detected, executorFactory] = await Promise.all([
    detectCapabilities({ name: options.name, labels: options.labels, concurrency: options.concurrency, version: WORKER_VERSION }),
    selectExecutor(options.sandbox, {
      hiddenPaths: hiddenPaths(options),
      toolchainPaths: [...toolchainPaths(), cache.toolchains.dir],
      buildUser: options.buildUser,
      workDir: options.workDir,
    }),
  ]);
  // The controller keeps a worker that confines nothing (executor none) out of the shared pool.
  const capabilities = { ...detected.capabilities, executor: executorFactory.name };
  logger.info(
    { name: capabilities.name, platforms: capabilities.platforms, labels: capabilities.labels, concurrency: capabilities.concurrency, executor: executorFactory.name },
    `executor: ${executorFactory.reason}`,
  );
  if (executorFactory.warning) warnUnconfinedOnce(executorFactory.warning, logger);
  const identity = await establishIdentity(options, capabilities, logger, stopping.signal);
  let timing = identity.timing;

  const running = new Map<string, AttemptHandle>();
  // What a crashed run left behind goes, unless workspaces are kept on purpose (for debugging).
  if (!options.keepWorkspace) {
    const removed = await sweepStaleWorkspaces(options.workDir, new Set());
    if (removed.length) logger.info({ removed }, 'removed stale workspaces');
  }

  const deps: AttemptDeps = {
    client: identity.client,
    workerId: identity.workerId,
    workerName: options.name,
    workDir: options.workDir,
    keepWorkspace: options.keepWorkspace,
    createExecutor: () => executorFactory.create(),
    logger,
    cache,
  };

  async function runJob(job: BuildJob): Promise<void> {
    timing = job.timing;
    logger.info({ attemptId: job.attempt.id, buildId: job.build.id, platform: job.build.platform }, 'claimed a build');
    const handle = startAttempt(job, deps);
    running.set(job.attempt.id, handle);
    try {
      await handle.done;
    } catch (err) {
      logger.error({ attemptId: job.attempt.id, err: describeError(err) }, 'attempt crashed');
    } finally {
      running.delete(job.attempt.id);
    }
  }

  let fatal: unknown;
  const claims = startClaimLoop({
    client: identity.client,
    slots: options.concurrency,
    waitMs: () => timing.claimWaitMs,
    runJob,
    onFatal: (err) => {
      fatal ??= err;
      claims.drain();
    },
    logger,
  });
  logger.info({ workerId: identity.workerId }, 'worker ready');

  const done = claims.done.then(() => {
    logger.info({ workerId: identity.workerId }, 'worker stopped');
    if (fatal) throw fatal;
  });
  // `done` is also awaited by drain/stop; a rejection there must not count as unhandled.
  done.catch(() => {});

  return {
    workerId: identity.workerId,
    async drain() {
      if (!claims.draining) logger.info({ running: running.size }, 'draining: no new builds; waiting for running builds');
      claims.drain();
      await done.catch(() => {});
    },
    async stop() {
      logger.info({ running: running.size }, 'stopping: handing running builds back');
      stopping.abort();
      claims.drain();
      for (const handle of running.values()) handle.stop('worker_stopping');
      await done.catch(() => {});
    },
    done,
  };
}
