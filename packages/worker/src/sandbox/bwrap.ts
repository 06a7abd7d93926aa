/**
 * `bwrap`: every build step runs inside bubblewrap (Linux). On top of what `none` guarantees:
 *  - the whole system is visible read-only; the attempt's workspace is the only writable host
 *    directory (bound at its own path, so paths inside and outside agree); /tmp is a private tmpfs;
 *  - `hiddenPaths` (the worker's config/credential directory, the real home) are covered with an
 *    empty tmpfs (a file with /dev/null): a step cannot read the worker's credentials;
 *  - all capabilities are dropped (bwrap also sets no_new_privs). This matters when the worker runs
 *    as root: with capabilities a step could simply unmount the tmpfs over a hidden path;
 *  - a PID namespace: a step sees only its own processes, and when the step's root exits or the
 *    worker dies (--die-with-parent) the kernel kills everything left in the namespace, including
 *    processes that used setsid or double-forked: nothing escapes;
 *  - no network unless the request asks for it (a fresh network namespace with only loopback);
 *  - a new session (--new-session), so a step cannot push input into a terminal (TIOCSTI).
 * Toolchains (node, JDK, Android SDK) must live outside the hidden paths, or the build won't find them.
 */
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { WorkspaceLayout } from '../workspace/workspace.js';
import type { ExecRequest } from './executor.js';
import { LocalExecutor, SandboxError, type LocalExecutorOptions, type SpawnPlan } from './local-executor.js';

export const DEFAULT_BWRAP_PATH = '/usr/bin/bwrap';

export interface BwrapExecutorOptions extends LocalExecutorOptions {
  /** Made invisible inside the sandbox: the worker's config/credential directory and the real home. */
  hiddenPaths: string[];
  bwrapPath?: string;
}

export class BwrapExecutor extends LocalExecutor {
  readonly name = 'bwrap';
  private readonly bwrapPath: string;
  private readonly hiddenPaths: string[];
  /** Computed once per attempt in prepare(). */
  private mounts: string[] = [];

  constructor(options: BwrapExecutorOptions) {
    super(options);
    this.bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP_PATH;
    this.hiddenPaths = options.hiddenPaths;
  }

  override async prepare(workspaceRoot: string): Promise<void> {
    // Real paths: bwrap mounts onto what a path resolves to, and the comparisons below must agree.
    const root = await realpath(workspaceRoot);
    const hide: string[] = [];
    for (const hidden of this.hiddenPaths) {
      const real = await realpath(hidden).catch(() => undefined);
      if (real === undefined) continue; // nothing there, nothing to hide
      if (real === '/' || isInside(root, real)) {
        throw new SandboxError('INVALID_CONFIG', `hidden path ${hidden} cannot be hidden without hiding the workspace or the system`);
      }
      const isDir = (await lstat(real)).isDirectory();
      hide.push(...(isDir ? ['--tmpfs', real] : ['--ro-bind', '/dev/null', real]));
    }
    this.mounts = [
      // Order matters: later mounts cover earlier ones. The workspace comes last so that it stays
      // visible even when it lies below /tmp or below a hidden path (a work dir under ~/.buildmesh).
      ...['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'],
      ...hide,
      ...['--bind', root, root],
    ];
    // Last: run() works only once everything above has been validated.
    await super.prepare(workspaceRoot);
  }

  protected spawnPlan(request: ExecRequest, _layout: WorkspaceLayout): SpawnPlan {
    const argv = [
      this.bwrapPath,
      ...this.mounts,
      ...['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'],
      ...(request.network ? [] : ['--unshare-net']),
      ...['--die-with-parent', '--new-session', '--cap-drop', 'ALL'],
      ...['--chdir', path.resolve(request.cwd)],
      '--',
      ...request.argv,
    ];
    // bwrap itself, when signalled, SIGKILLs its sandbox at once; TERM goes to the step instead.
    return { argv, rootIsSupervisor: true };
  }
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}
