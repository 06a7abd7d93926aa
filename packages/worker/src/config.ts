/**
 * Worker options: each has a default, a BUILDMESH_* variable and a CLI flag.
 * Precedence: explicit options (CLI flags) > environment > defaults. The
 * enrollment token is read from the environment or a file, never required in
 * argv (argv is visible to every user of the machine through `ps`).
 */
import { createHash } from 'node:crypto';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Labels } from '@buildmesh/protocol';
import type { WorkerLogger } from './logger.js';

export type SandboxMode = 'auto' | 'none' | 'bwrap';
export const SANDBOX_MODES: readonly SandboxMode[] = ['auto', 'none', 'bwrap'];

export interface WorkerOptions {
  /** Controller base URL, e.g. http://controller:7070. */
  url: string;
  /** Enrollment token, needed only for the first start (later starts use the saved credential). */
  enrollmentToken: string | undefined;
  /** File holding the enrollment token (alternative to passing it in the environment). */
  enrollmentTokenFile: string | undefined;
  name: string;
  /** User labels, added to the detected ones (detected labels win on conflict). */
  labels: Labels;
  concurrency: number;
  /** Builds run in fresh workspaces below this directory. */
  workDir: string;
  sandbox: SandboxMode;
  /** Keep each workspace after its attempt (debugging); default removes it. */
  keepWorkspace: boolean;
  /** Where the worker's own credential is saved (mode 0600), one file per controller and worker name. */
  configDir: string;
  /**
   * What the saved credential is keyed on besides the name, instead of the controller URL's origin
   * (programmatic only: `up` passes a constant, since its config dir belongs to one controller,
   * whatever port that controller gets).
   */
  identityKey?: string;
  /** More paths build steps must never see under bwrap (e.g. a controller data dir on the same machine). */
  hidePaths: string[];
  /** `uid:gid` build steps run as under bwrap when the worker runs as root. */
  buildUser: { uid: number; gid: number };
  /** Per-org dependency caches and installed toolchains; default `<workDir>/cache`. */
  cacheDir: string;
  /** Size limit of the dependency caches, in GB (least recently used entries go first); 0 disables caching. */
  cacheMaxGb: number;
  /** npm registry the Node.js / yarn / pnpm / bun versions a profile asks for are installed from. */
  toolchainRegistry: string;
  logLevel: string;
  /** The worker's own logger (the CLI may pass its own); default: pino on stdout at `logLevel`. */
  logger?: WorkerLogger;
}

export interface WorkerOptionDoc {
  key: keyof WorkerOptions;
  env: string;
  flag: string;
  default: string;
  description: string;
}

/** The option table, for `buildmesh worker --help` and the docs. */
export const WORKER_OPTIONS: readonly WorkerOptionDoc[] = [
  { key: 'url', env: 'BUILDMESH_URL', flag: '--url <url>', default: '(required)', description: 'Controller base URL.' },
  {
    key: 'enrollmentToken',
    env: 'BUILDMESH_ENROLLMENT_TOKEN',
    flag: '(environment only)',
    default: '(none)',
    description: 'Enrollment token for the first start. Never a flag: argv is visible to every user in `ps`.',
  },
  {
    key: 'enrollmentTokenFile',
    env: 'BUILDMESH_ENROLLMENT_TOKEN_FILE',
    flag: '--token-file <path>',
    default: '(none)',
    description: 'File containing the enrollment token.',
  },
  { key: 'name', env: 'BUILDMESH_WORKER_NAME', flag: '--name <name>', default: 'the host name', description: 'Worker name shown in `buildmesh workers`.' },
  {
    key: 'labels',
    env: 'BUILDMESH_LABELS',
    flag: '--labels <k=v,...>',
    default: '(none)',
    description: 'Extra labels builds can require; os, arch and xcode are detected and cannot be overridden.',
  },
  { key: 'concurrency', env: 'BUILDMESH_CONCURRENCY', flag: '--concurrency <n>', default: '1', description: 'Builds run at the same time (1-64).' },
  {
    key: 'workDir',
    env: 'BUILDMESH_WORK_DIR',
    flag: '--work-dir <dir>',
    default: '~/.buildmesh-worker (as root: /var/lib/buildmesh-worker)',
    description:
      'Directory for build workspaces (one fresh directory per attempt). Under bwrap as root, every directory above it must be searchable by the build user.',
  },
  {
    key: 'sandbox',
    env: 'BUILDMESH_SANDBOX',
    flag: '--sandbox <auto|none|bwrap>',
    default: 'auto',
    description:
      'Executor: bwrap (Linux namespaces, minimal root, unprivileged), none (own process group, reduced env, no isolation: serves its own org only), auto = bwrap when it works, else none with a loud warning.',
  },
  {
    key: 'keepWorkspace',
    env: 'BUILDMESH_KEEP_WORKSPACE',
    flag: '--keep-workspace',
    default: 'false',
    description: 'Keep workspaces after builds (for debugging).',
  },
  {
    key: 'configDir',
    env: 'BUILDMESH_CONFIG_DIR',
    flag: '--config-dir <dir>',
    default: '~/.config/buildmesh',
    description: 'Where the worker credential is saved (worker-<hash of controller and name>.json, mode 0600).',
  },
  {
    key: 'hidePaths',
    env: 'BUILDMESH_HIDE_PATHS',
    flag: '--hide-paths <a:b>',
    default: '(none)',
    description: 'Colon-separated paths build steps must not see under bwrap, beyond the built-in list (other workspaces, the worker credential, ~/.ssh, ~/.aws, …); `up` adds its controller data dir.',
  },
  {
    key: 'buildUser',
    env: 'BUILDMESH_BUILD_USER',
    flag: '--build-user <uid:gid>',
    default: '65534:65534',
    description: 'Numeric user and group build steps run as under bwrap when the worker runs as root (a non-root worker runs them as itself).',
  },
  {
    key: 'cacheDir',
    env: 'BUILDMESH_CACHE_DIR',
    flag: '--cache-dir <dir>',
    default: '<work dir>/cache',
    description:
      'Dependency caches (one directory per org, never visible to another org\'s build) and the toolchain versions profiles asked for. Keep it on the work dir\'s filesystem (entries move in and out of workspaces by rename) and, under bwrap as root, reachable by the build user like the work dir (its toolchains/ is bound read-only into the sandbox).',
  },
  {
    key: 'cacheMaxGb',
    env: 'BUILDMESH_CACHE_MAX_GB',
    flag: '--cache-max-gb <n>',
    default: '20',
    description: 'Size limit of the dependency caches in GB (fractions allowed); least recently used entries are evicted after each save. 0 turns caching off.',
  },
  {
    key: 'toolchainRegistry',
    env: 'BUILDMESH_TOOLCHAIN_REGISTRY',
    flag: '--toolchain-registry <url>',
    default: 'https://registry.npmjs.org',
    description: 'npm registry the `node`, `yarn`, `pnpm` and `bun` versions of a profile are installed from (checksum-verified, once per worker).',
  },
  { key: 'logLevel', env: 'BUILDMESH_LOG_LEVEL', flag: '--log-level <level>', default: 'info', description: "The worker's own log level (pino)." },
];

export class WorkerConfigError extends Error {
  readonly code = 'WORKER_CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerConfigError';
  }
}

const LABEL_KEY = /^[a-z0-9][a-z0-9._/-]{0,62}$/;

/** `k=v,k2=v2` → { k: 'v', k2: 'v2' }; throws WorkerConfigError on a malformed entry. */
export function parseLabels(text: string): Labels {
  const labels: Labels = {};
  for (const part of text.split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new WorkerConfigError(`label "${entry}" is not of the form key=value`);
    const key = entry.slice(0, eq).trim();
    const value = entry.slice(eq + 1).trim();
    if (!LABEL_KEY.test(key)) throw new WorkerConfigError(`label key "${key}" must be lower-case letters, digits, . _ / -`);
    if (value.length > 128) throw new WorkerConfigError(`label "${key}" has a value longer than 128 characters`);
    labels[key] = value;
  }
  return labels;
}

/** `uid:gid` (numeric; root is refused: the point is to drop it). */
export function parseBuildUser(text: string): { uid: number; gid: number } {
  const match = /^(\d{1,10}):(\d{1,10})$/.exec(text.trim());
  const uid = Number(match?.[1]);
  const gid = Number(match?.[2]);
  if (!match || uid === 0 || gid === 0 || uid > 0xfffffffe || gid > 0xfffffffe) {
    throw new WorkerConfigError(`the build user must be numeric uid:gid other than root, e.g. 65534:65534, not "${text}"`);
  }
  return { uid, gid };
}

function parseBoolean(name: string, text: string): boolean {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off|)$/i.test(text)) return false;
  throw new WorkerConfigError(`${name} must be true or false, not "${text}"`);
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

export function resolveWorkerOptions(overrides: Partial<WorkerOptions> = {}, env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const pick = <K extends keyof WorkerOptions>(key: K): WorkerOptions[K] | undefined =>
    overrides[key] !== undefined ? overrides[key] : undefined;
  const fromEnv = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);

  const url = pick('url') ?? fromEnv('BUILDMESH_URL');
  if (!url) throw new WorkerConfigError('the controller URL is required (--url or BUILDMESH_URL)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WorkerConfigError(`"${url}" is not a valid URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new WorkerConfigError(`the controller URL must be http or https, not ${parsed.protocol}`);

  const concurrencyText = pick('concurrency') ?? fromEnv('BUILDMESH_CONCURRENCY') ?? 1;
  const concurrency = Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new WorkerConfigError(`concurrency must be an integer from 1 to 64, not "${concurrencyText}"`);
  }

  const sandbox = (pick('sandbox') ?? fromEnv('BUILDMESH_SANDBOX') ?? 'auto') as SandboxMode;
  if (!SANDBOX_MODES.includes(sandbox)) throw new WorkerConfigError(`sandbox must be one of ${SANDBOX_MODES.join(', ')}, not "${sandbox}"`);

  const envLabels = fromEnv('BUILDMESH_LABELS');
  const labels = pick('labels') ?? (envLabels ? parseLabels(envLabels) : {});
  for (const key of Object.keys(labels)) if (!LABEL_KEY.test(key)) throw new WorkerConfigError(`label key "${key}" is not valid`);

  const name = (pick('name') ?? fromEnv('BUILDMESH_WORKER_NAME') ?? hostname()).slice(0, 128);
  if (!name.trim()) throw new WorkerConfigError('the worker name must not be empty');

  const keepText = fromEnv('BUILDMESH_KEEP_WORKSPACE');
  const keepWorkspace = pick('keepWorkspace') ?? (keepText !== undefined ? parseBoolean('BUILDMESH_KEEP_WORKSPACE', keepText) : false);

  const toolchainRegistry = (pick('toolchainRegistry') ?? fromEnv('BUILDMESH_TOOLCHAIN_REGISTRY') ?? 'https://registry.npmjs.org').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(toolchainRegistry)) throw new WorkerConfigError(`the toolchain registry must be an http(s) URL, not "${toolchainRegistry}"`);

  const tokenFile = pick('enrollmentTokenFile') ?? fromEnv('BUILDMESH_ENROLLMENT_TOKEN_FILE');
  const { workDir, cacheDir, cacheMaxGb } = resolveCacheOptions(overrides, env);
  return {
    url: url.replace(/\/+$/, ''),
    enrollmentToken: pick('enrollmentToken') ?? fromEnv('BUILDMESH_ENROLLMENT_TOKEN'),
    enrollmentTokenFile: tokenFile ? resolve(expandHome(tokenFile)) : undefined,
    name,
    labels,
    concurrency,
    workDir,
    sandbox,
    keepWorkspace,
    configDir: resolve(expandHome(pick('configDir') ?? fromEnv('BUILDMESH_CONFIG_DIR') ?? '~/.config/buildmesh')),
    hidePaths: (pick('hidePaths') ?? (fromEnv('BUILDMESH_HIDE_PATHS') ?? '').split(':').filter(Boolean)).map((p) => resolve(expandHome(p))),
    buildUser: pick('buildUser') ?? parseBuildUser(fromEnv('BUILDMESH_BUILD_USER') ?? '65534:65534'),
    cacheDir,
    cacheMaxGb,
    toolchainRegistry,
    logLevel: pick('logLevel') ?? fromEnv('BUILDMESH_LOG_LEVEL') ?? 'info',
    logger: overrides.logger,
    ...(overrides.identityKey ? { identityKey: overrides.identityKey } : {}),
  };
}

/** The work dir, cache dir and cache size limit alone (`buildmesh worker cache` needs no controller URL). */
export function resolveCacheOptions(
  overrides: Partial<Pick<WorkerOptions, 'workDir' | 'cacheDir' | 'cacheMaxGb'>> = {},
  env: NodeJS.ProcessEnv = process.env,
): { workDir: string; cacheDir: string; cacheMaxGb: number } {
  const fromEnv = (name: string): string | undefined => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  // As root, not below /root: the build user must be able to traverse the way to its workspace.
  const workDir = resolve(expandHome(overrides.workDir ?? fromEnv('BUILDMESH_WORK_DIR') ?? (process.getuid?.() === 0 ? '/var/lib/buildmesh-worker' : '~/.buildmesh-worker')));
  const cacheDir = resolve(expandHome(overrides.cacheDir ?? fromEnv('BUILDMESH_CACHE_DIR') ?? join(workDir, 'cache')));
  const maxGbText = overrides.cacheMaxGb ?? fromEnv('BUILDMESH_CACHE_MAX_GB') ?? 20;
  const cacheMaxGb = Number(maxGbText);
  if (!Number.isFinite(cacheMaxGb) || cacheMaxGb < 0 || cacheMaxGb > 100_000) throw new WorkerConfigError(`cache-max-gb must be a number of GB from 0, not "${maxGbText}"`);
  return { workDir, cacheDir, cacheMaxGb };
}

/**
 * The credential file for this controller and worker name. Keyed by both so two
 * workers on one machine (different names) or one worker serving two controllers
 * keep separate identities.
 */
export function credentialFilePath(options: Pick<WorkerOptions, 'url' | 'name' | 'configDir' | 'identityKey'>): string {
  const key = options.identityKey ?? new URL(options.url).origin;
  const hash = createHash('sha256').update(`${key}\n${options.name}`).digest('hex').slice(0, 16);
  return join(options.configDir, `worker-${hash}.json`);
}
