/**
 * Chooses the executor once, at worker start, and hands out a fresh instance per attempt
 * (prepare -> run* -> dispose), so no state is ever shared between two builds.
 *
 * To add an executor (e.g. a macOS VM one), implement `Executor`, add a mode here and a case
 * in `selectExecutor`; see docs/sandbox.md.
 */
import { execFile } from 'node:child_process';
import { BwrapExecutor, DEFAULT_BWRAP_PATH } from './bwrap.js';
import type { Executor } from './executor.js';
import { SandboxError } from './local-executor.js';
import { NoneExecutor } from './none.js';

export type SandboxMode = 'auto' | 'none' | 'bwrap';

export interface SandboxOptions {
  /** Hidden from build steps by executors that can hide paths: the worker's config/credential dir and real home. */
  hiddenPaths: string[];
  killGraceMs?: number;
  bwrapPath?: string;
}

export interface ExecutorFactory {
  readonly name: 'none' | 'bwrap';
  /** Why this executor was chosen; for the worker's startup log. */
  readonly reason: string;
  /** A new executor for one attempt. */
  create(): Executor;
}

export async function selectExecutor(mode: SandboxMode, options: SandboxOptions): Promise<ExecutorFactory> {
  const bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP_PATH;
  const none = (reason: string): ExecutorFactory => ({
    name: 'none',
    reason,
    create: () => new NoneExecutor({ killGraceMs: options.killGraceMs }),
  });
  const bwrap = (reason: string): ExecutorFactory => ({
    name: 'bwrap',
    reason,
    create: () => new BwrapExecutor({ hiddenPaths: options.hiddenPaths, killGraceMs: options.killGraceMs, bwrapPath }),
  });

  if (mode === 'none') return none('sandbox mode "none" configured');
  const probe = process.platform === 'linux' ? await probeBwrap(bwrapPath) : { ok: false, detail: `not available on ${process.platform}` };
  if (mode === 'bwrap') {
    // Asked for explicitly: never fall back silently to running builds unconfined.
    if (!probe.ok) throw new SandboxError('SANDBOX_UNAVAILABLE', `sandbox mode "bwrap" configured but bwrap does not work: ${probe.detail}`);
    return bwrap('sandbox mode "bwrap" configured');
  }
  return probe.ok ? bwrap('auto: bwrap works on this machine') : none(`auto: bwrap unusable (${probe.detail}), builds run unconfined`);
}

const probes = new Map<string, Promise<{ ok: boolean; detail: string }>>();

/**
 * Runs bwrap once with the namespaces and mounts the executor relies on (not just `--ro-bind / /`):
 * in a container without user namespaces, for instance, a bare bwrap can work while
 * --unshare-net cannot, and every build would then fail instead of falling back. Cached per path.
 */
export function probeBwrap(bwrapPath: string = DEFAULT_BWRAP_PATH): Promise<{ ok: boolean; detail: string }> {
  let probe = probes.get(bwrapPath);
  if (!probe) {
    const args = [
      ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
      ...['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--unshare-net'],
      ...['--die-with-parent', '--new-session', '--cap-drop', 'ALL', 'true'],
    ];
    probe = new Promise((resolve) => {
      execFile(bwrapPath, args, { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, _stdout, stderr) => {
        resolve(err ? { ok: false, detail: (stderr.trim() || err.message).split('\n')[0] ?? '' } : { ok: true, detail: 'ok' });
      });
    });
    probes.set(bwrapPath, probe);
  }
  return probe;
}
