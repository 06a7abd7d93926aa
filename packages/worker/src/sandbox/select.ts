/**
 * Chooses the executor once, at worker start, and hands out a fresh instance per attempt
 * (prepare -> run* -> dispose), so no state is ever shared between two builds.
 *
 * To add an executor (e.g. a macOS VM one), implement `Executor`, add a mode here and a case
 * in `selectExecutor`; see docs/sandbox.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createWorkspace } from '../workspace/workspace.js';
import { BwrapExecutor, DEFAULT_BUILD_USER, DEFAULT_BWRAP_PATH, sandboxUser, type BuildUser } from './bwrap.js';
import type { Executor } from './executor.js';
import { SandboxError } from './local-executor.js';
import { NoneExecutor } from './none.js';

export type SandboxMode = 'auto' | 'none' | 'bwrap';

export interface SandboxOptions {
  /** Covered by executors that can hide paths: the worker's config/credential dir, other workspaces. */
  hiddenPaths: string[];
  killGraceMs?: number;
  bwrapPath?: string;
  /** Toolchains outside /usr the bwrap executor binds read-only (see toolchainPaths()). */
  toolchainPaths?: string[];
  /** Who steps run as under bwrap when the worker runs as root. */
  buildUser?: BuildUser;
  /** The worker's work dir: the probe runs a real step in a workspace there, as every build will. */
  workDir?: string;
}

export interface ExecutorFactory {
  readonly name: 'none' | 'bwrap';
  /** Why this executor was chosen; for the worker's startup log. */
  readonly reason: string;
  /** Set when builds will run unconfined although the operator did not ask for that. */
  readonly warning?: string;
  /** A new executor for one attempt. */
  create(): Executor;
}

export const BWRAP_INSTALL_HINT = 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)';

export async function selectExecutor(mode: SandboxMode, options: SandboxOptions): Promise<ExecutorFactory> {
  const bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP_PATH;
  const none = (reason: string, warning?: string): ExecutorFactory => ({
    name: 'none',
    reason,
    ...(warning ? { warning } : {}),
    create: () => new NoneExecutor({ killGraceMs: options.killGraceMs }),
  });
  const bwrap = (reason: string): ExecutorFactory => ({
    name: 'bwrap',
    reason,
    create: () =>
      new BwrapExecutor({
        hiddenPaths: options.hiddenPaths,
        killGraceMs: options.killGraceMs,
        bwrapPath,
        toolchainPaths: options.toolchainPaths,
        buildUser: options.buildUser,
      }),
  });

  if (mode === 'none') return none('sandbox mode "none" configured');
  const probe =
    process.platform === 'linux'
      ? await probeBwrap(bwrapPath, { workDir: options.workDir, buildUser: options.buildUser, toolchainPaths: options.toolchainPaths })
      : { ok: false, detail: `not available on ${process.platform}` };
  if (mode === 'bwrap') {
    // Asked for explicitly: never fall back silently to running builds unconfined.
    if (!probe.ok) throw new SandboxError('SANDBOX_UNAVAILABLE', `sandbox mode "bwrap" configured but bwrap does not work: ${probe.detail}`);
    return bwrap('sandbox mode "bwrap" configured');
  }
  if (probe.ok) return bwrap('auto: bwrap works on this machine');
  return none(
    `auto: bwrap unusable (${probe.detail}), builds run unconfined`,
    `NO SANDBOX: bwrap does not work here (${probe.detail}). Builds run unconfined, as this worker's user, and can read ` +
      `everything it can; this worker serves only its own org's builds. To confine builds, ${BWRAP_INSTALL_HINT}, then restart the worker.`,
  );
}

const probes = new Map<string, Promise<{ ok: boolean; detail: string }>>();

/**
 * Runs `true` through a real BwrapExecutor, in a real workspace (below the work dir when given),
 * as the build user: exactly what every build step will do. A bare `bwrap true` can work where
 * --unshare-net, an unprivileged user namespace or the work dir's permissions do not, and every
 * build would then fail instead of falling back. Cached per bwrap path, work dir and user.
 */
export function probeBwrap(
  bwrapPath: string = DEFAULT_BWRAP_PATH,
  options: { workDir?: string; buildUser?: BuildUser; toolchainPaths?: string[] } = {},
): Promise<{ ok: boolean; detail: string }> {
  const user = sandboxUser(options.buildUser ?? DEFAULT_BUILD_USER);
  const key = JSON.stringify([bwrapPath, options.workDir ?? '', user ?? null]);
  let probe = probes.get(key);
  if (!probe) {
    probe = runProbe(bwrapPath, options);
    probes.set(key, probe);
  }
  return probe;
}

async function runProbe(bwrapPath: string, options: { workDir?: string; buildUser?: BuildUser; toolchainPaths?: string[] }): Promise<{ ok: boolean; detail: string }> {
  const scratch = options.workDir === undefined ? await mkdtemp(path.join(tmpdir(), 'buildmesh-probe-')) : undefined;
  const workspace = await createWorkspace(scratch ?? (options.workDir as string), `probe-${randomBytes(6).toString('hex')}`);
  const executor = new BwrapExecutor({ hiddenPaths: [], bwrapPath, buildUser: options.buildUser, toolchainPaths: options.toolchainPaths, killGraceMs: 1000 });
  const output: string[] = [];
  try {
    await executor.prepare(workspace.root);
    const result = await executor.run({
      argv: ['true'],
      cwd: workspace.projectDir,
      env: {},
      network: false,
      timeoutMs: 10_000,
      onLine: (_stream, line) => output.push(line),
    });
    if (result.exitCode === 0) return { ok: true, detail: 'ok' };
    return { ok: false, detail: (output.find((l) => l.trim()) ?? `exit ${result.exitCode ?? result.signal}`).trim() };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    await executor.dispose().catch(() => {});
    await workspace.remove().catch(() => {});
    if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => {});
  }
}
