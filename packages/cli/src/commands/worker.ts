/**
 * `buildmesh worker`: runs a build worker that dials out to the controller. The first start
 * enrolls with an enrollment token (from BUILDMESH_ENROLLMENT_TOKEN or --token-file; never needed
 * in argv) and saves the worker's own credential; later starts reuse it.
 * SIGTERM/SIGINT drains (no new builds, running ones finish); a second signal hands them back.
 */
import { Option } from 'commander';
import type { WorkerOptions } from '@buildmesh/worker';
import { loadWorker, loaded } from '../server-modules.js';
import { action, command, intOption } from '../command-kit.js';
import { onShutdownSignals } from '../lifecycle.js';
import { workerCacheCommand } from './worker-cache.js';

interface WorkerCliOptions {
  json?: boolean;
  url?: string;
  token?: string;
  tokenFile?: string;
  name?: string;
  labels?: string;
  concurrency?: number;
  workDir?: string;
  sandbox?: WorkerOptions['sandbox'];
  keepWorkspace?: boolean;
  configDir?: string;
  hidePaths?: string;
  buildUser?: string;
  cacheDir?: string;
  cacheMaxGb?: string;
  toolchainRegistry?: string;
  logLevel?: string;
}

function envHelp(): string {
  const table = loaded().worker?.WORKER_OPTIONS;
  if (!table) return '  (see the README configuration reference)';
  const width = Math.max(...table.map((o) => o.env.length));
  return table.map((o) => `  ${o.env.padEnd(width)}  ${o.description} (default ${o.default})`).join('\n');
}

/** Flags given, mapped to the worker's option names; the worker applies env and defaults to the rest. */
function workerFlags(
  opts: WorkerCliOptions,
  parseLabels: (text: string) => WorkerOptions['labels'],
  parseBuildUser: (text: string) => WorkerOptions['buildUser'],
): Partial<WorkerOptions> {
  const picked: Partial<WorkerOptions> = {};
  if (opts.url !== undefined) picked.url = opts.url;
  if (opts.token !== undefined) picked.enrollmentToken = opts.token;
  if (opts.tokenFile !== undefined) picked.enrollmentTokenFile = opts.tokenFile;
  if (opts.name !== undefined) picked.name = opts.name;
  if (opts.labels !== undefined) picked.labels = parseLabels(opts.labels);
  if (opts.concurrency !== undefined) picked.concurrency = opts.concurrency;
  if (opts.workDir !== undefined) picked.workDir = opts.workDir;
  if (opts.sandbox !== undefined) picked.sandbox = opts.sandbox;
  if (opts.keepWorkspace !== undefined) picked.keepWorkspace = opts.keepWorkspace;
  if (opts.configDir !== undefined) picked.configDir = opts.configDir;
  if (opts.hidePaths !== undefined) picked.hidePaths = opts.hidePaths.split(':').filter(Boolean);
  if (opts.buildUser !== undefined) picked.buildUser = parseBuildUser(opts.buildUser);
  if (opts.cacheDir !== undefined) picked.cacheDir = opts.cacheDir;
  if (opts.cacheMaxGb !== undefined) picked.cacheMaxGb = Number(opts.cacheMaxGb);
  if (opts.toolchainRegistry !== undefined) picked.toolchainRegistry = opts.toolchainRegistry;
  if (opts.logLevel !== undefined) picked.logLevel = opts.logLevel;
  return picked;
}

export const workerCommand = action<WorkerCliOptions>(
  command('worker', 'Run a build worker that takes jobs from a controller', [
    'buildmesh worker --url http://controller:4650 --token-file ./enroll-token',
    'BUILDMESH_ENROLLMENT_TOKEN=… buildmesh worker --url http://controller:4650 --labels team=mobile --concurrency 2',
    'buildmesh worker --url http://controller:4650     # later starts: the saved credential is reused',
  ])
    .option('--url <url>', 'controller URL (env BUILDMESH_URL)')
    .option('--token-file <path>', 'file holding the enrollment token (env BUILDMESH_ENROLLMENT_TOKEN_FILE; or set BUILDMESH_ENROLLMENT_TOKEN)')
    .addOption(new Option('--token <token>', 'deprecated: the token in argv is visible to every user via ps; use --token-file or BUILDMESH_ENROLLMENT_TOKEN').hideHelp())
    .option('--name <name>', 'worker name shown in `buildmesh workers` (env BUILDMESH_WORKER_NAME, default the host name)')
    .option('--labels <k=v,...>', 'extra labels builds can require (env BUILDMESH_LABELS)')
    .option('--concurrency <n>', 'builds at the same time, 1-64 (env BUILDMESH_CONCURRENCY, default 1)', intOption(1, 64))
    .option('--work-dir <dir>', 'where build workspaces go (env BUILDMESH_WORK_DIR, default ~/.buildmesh-worker; as root /var/lib/buildmesh-worker)')
    .addOption(new Option('--sandbox <mode>', 'executor: auto = bwrap when it works (env BUILDMESH_SANDBOX, default auto)').choices(['auto', 'none', 'bwrap']))
    .option('--keep-workspace', 'keep workspaces after builds, for debugging (env BUILDMESH_KEEP_WORKSPACE)')
    .option('--config-dir <dir>', 'where the worker credential is saved (env BUILDMESH_CONFIG_DIR, default ~/.config/buildmesh)')
    .option('--hide-paths <a:b>', 'more paths build steps must not see under bwrap, e.g. a controller data dir on this machine (env BUILDMESH_HIDE_PATHS)')
    .option('--build-user <uid:gid>', 'who build steps run as under bwrap when the worker runs as root (env BUILDMESH_BUILD_USER, default 65534:65534)')
    .option('--cache-dir <dir>', 'per-org dependency caches and installed toolchains (env BUILDMESH_CACHE_DIR, default <work dir>/cache)')
    .option('--cache-max-gb <n>', 'size limit of the dependency caches in GB, LRU eviction; 0 turns caching off (env BUILDMESH_CACHE_MAX_GB, default 20)')
    .option('--toolchain-registry <url>', 'npm registry profile node/yarn/pnpm/bun versions come from (env BUILDMESH_TOOLCHAIN_REGISTRY, default https://registry.npmjs.org)')
    .option('--log-level <level>', "the worker's own log level (env BUILDMESH_LOG_LEVEL, default info)")
    .addHelpText('after', () => `\nEnvironment (flags win over variables):\n${envHelp()}\n\nJSON (--json): one line once connected: { workerId, url }\n`),
  async ({ out, opts }) => {
    if (opts.token !== undefined) {
      out.warn('--token is deprecated: a secret in argv is visible to every user of this machine (ps). Use --token-file or BUILDMESH_ENROLLMENT_TOKEN.');
    }
    const { startWorker, parseLabels, parseBuildUser } = await loadWorker();
    const worker = await startWorker(workerFlags(opts, parseLabels, parseBuildUser));
    if (out.json) out.printJsonLine({ workerId: worker.workerId, url: opts.url ?? process.env.BUILDMESH_URL ?? null });
    else process.stderr.write(`✔ worker ${worker.workerId} connected; waiting for builds (Ctrl-C drains, twice stops)\n`);
    const dispose = onShutdownSignals(
      (signal) => {
        process.stderr.write(`${signal}: draining — no new builds; running builds finish (send it again to hand them back)\n`);
        return worker.drain();
      },
      () => {
        process.stderr.write('stopping: running builds are handed back to the controller\n');
        void worker.stop();
      },
    );
    try {
      await worker.done;
    } finally {
      dispose();
    }
  },
).addCommand(workerCacheCommand);
