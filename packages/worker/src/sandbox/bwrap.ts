/**
 * `bwrap`: every build step runs inside bubblewrap (Linux). On top of what `none` guarantees:
 *  - bwrap itself never sees build input: it is started with a fixed environment, and the build's
 *    variables (secrets included) reach it through a pipe (`--args 3`: `--clearenv`, `--setenv`),
 *    so no LD_PRELOAD, GCONV_PATH, … of a build runs code outside the sandbox, and no value shows
 *    in a process list;
 *  - bwrap is started as an unprivileged user (the build user, 65534:65534 by default, when the
 *    worker runs as root), so the sandbox is a user namespace owned by that user: root in it is
 *    nobody on the host, and /etc/shadow, /root, … stay closed even without any mount tricks;
 *  - a minimal root: /usr (and /bin, /lib*, /sbin as on the host), the few /etc entries for DNS,
 *    TLS, user lookup and the JDK, the toolchains the worker detected outside /usr (read-only),
 *    a private /tmp, its own /dev and /proc, and the attempt's workspace (writable, at its own
 *    path) — never `/` wholesale, so no other workspace, home or data dir exists inside;
 *  - `hiddenPaths` that lie inside one of those binds are covered (tmpfs, or /dev/null for a file);
 *  - all capabilities are dropped and no_new_privs is set;
 *  - a PID namespace: a step sees only its own processes (its /proc is its own), and when the
 *    step's root exits or the worker dies (--die-with-parent) the kernel kills everything left in
 *    the namespace, including processes that used setsid or double-forked;
 *  - no network unless the request asks for it (a fresh network namespace with only loopback);
 *  - a new session (--new-session), so a step cannot push input into a terminal (TIOCSTI).
 * The step's command line (not its environment) is on bwrap's argv: it is the build's own code.
 */
import { execFile } from 'node:child_process';
import { chmod, lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { WORKER_DIR, type WorkspaceLayout } from '../workspace/workspace.js';
import type { ExecRequest } from './executor.js';
import { LAUNCHER_ENV, LocalExecutor, SandboxError, type LocalExecutorOptions, type SpawnPlan } from './local-executor.js';

export const DEFAULT_BWRAP_PATH = '/usr/bin/bwrap';

export interface BuildUser {
  uid: number;
  gid: number;
}

/** Who build steps run as when the worker runs as root: nobody/nogroup. */
export const DEFAULT_BUILD_USER: BuildUser = { uid: 65534, gid: 65534 };

export interface BwrapExecutorOptions extends LocalExecutorOptions {
  /** Covered inside the sandbox where a bind would otherwise show them (worker config, other workspaces). */
  hiddenPaths: string[];
  bwrapPath?: string;
  /** Toolchains outside /usr, bound read-only at their own path (node's prefix, JAVA_HOME, the Android SDK). */
  toolchainPaths?: string[];
  /** Used when the worker runs as root (a non-root worker's steps run as the worker's user). */
  buildUser?: BuildUser;
}

/** Top-level system directories: bound read-only, or recreated as the symlink they are (merged /usr). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];
/** /etc entries builds need: DNS, TLS, user and host lookup, the dynamic linker, npm/git defaults, Debian's JDK links. */
const ETC_ENTRIES = [
  'resolv.conf', 'hosts', 'host.conf', 'nsswitch.conf', 'gai.conf', 'services', 'protocols', 'networks',
  'passwd', 'group', 'localtime', 'timezone', 'ssl', 'ca-certificates', 'ca-certificates.conf', 'pki', 'crypto-policies',
  'alternatives', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'mime.types', 'os-release', 'debian_version', 'npmrc', 'gitconfig', 'maven',
];

/**
 * Toolchains a build needs that live outside /usr: node's own prefix (nvm, /opt/node), the JDK
 * (JAVA_HOME) and the Android SDK the worker detected. Bound read-only; they must be readable by
 * the build user.
 */
export function toolchainPaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const paths = [path.dirname(path.dirname(process.execPath))];
  for (const name of ['JAVA_HOME', 'ANDROID_HOME', 'ANDROID_SDK_ROOT'] as const) {
    const value = env[name];
    if (value && path.isAbsolute(value)) paths.push(value);
  }
  return paths;
}

/** The uid/gid bwrap runs as: the build user when we are root, ourselves otherwise. */
export function sandboxUser(buildUser: BuildUser = DEFAULT_BUILD_USER): BuildUser | undefined {
  return process.getuid?.() === 0 ? buildUser : undefined;
}

export class BwrapExecutor extends LocalExecutor {
  readonly name = 'bwrap';
  private readonly bwrapPath: string;
  private readonly hiddenPaths: string[];
  private readonly toolchainPaths: string[];
  private readonly user: BuildUser | undefined;
  /** Computed once per attempt in prepare(). */
  private mounts: string[] = [];
  private root = '';

  constructor(options: BwrapExecutorOptions) {
    super(options);
    this.bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP_PATH;
    this.hiddenPaths = options.hiddenPaths;
    this.toolchainPaths = options.toolchainPaths ?? [];
    this.user = sandboxUser(options.buildUser);
  }

  override async prepare(workspaceRoot: string): Promise<void> {
    // Real paths: bwrap mounts onto what a path resolves to, and the comparisons below must agree.
    const root = await realpath(workspaceRoot);
    if (this.user) {
      await makeReachable(root, this.user);
      // The workspace root stays the worker's: searchable, never writable by the build. Owning it, a
      // build could swap project/ or home/ for a symlink to /, and the worker's own code that runs
      // outside the sandbox (artifact collection, cache save, credential writing) would follow it.
      await chmod(root, 0o711);
    }

    const system: string[] = [];
    const bound: string[] = [];
    for (const dir of SYSTEM_DIRS) {
      const info = await lstat(dir).catch(() => undefined);
      if (info?.isSymbolicLink()) system.push('--symlink', await readlink(dir), dir);
      else if (info?.isDirectory()) {
        system.push('--ro-bind', dir, dir);
        bound.push(dir);
      }
    }
    const etc = [...ETC_ENTRIES, ...(await readdir('/etc').catch(() => [] as string[])).filter((name) => /^java/.test(name))];
    for (const name of etc) {
      const entry = path.join('/etc', name);
      const real = await realpath(entry).catch(() => undefined);
      if (real === undefined) continue;
      system.push('--ro-bind', real, entry);
      bound.push(real);
    }
    for (const toolchain of this.toolchainPaths) {
      const real = await realpath(toolchain).catch(() => undefined);
      if (real === undefined || real === '/' || bound.some((b) => isInside(b, real))) continue;
      system.push('--ro-bind', real, real);
      bound.push(real);
    }

    const hide: string[] = [];
    for (const hidden of this.hiddenPaths) {
      const real = await realpath(hidden).catch(() => undefined);
      if (real === undefined) continue; // nothing there, nothing to hide
      if (real === '/' || isInside(root, real)) {
        throw new SandboxError('INVALID_CONFIG', `hidden path ${hidden} cannot be hidden without hiding the workspace or the system`);
      }
      // Only what a bind brings in needs covering: everything else does not exist inside.
      if (!bound.some((b) => isInside(b, real))) continue;
      const isDir = (await lstat(real)).isDirectory();
      hide.push(...(isDir ? ['--tmpfs', real] : ['--ro-bind', '/dev/null', real]));
    }
    this.mounts = [
      // Order matters: later mounts cover earlier ones. The workspace comes last so that it stays
      // visible even when it lies below /tmp or below a hidden path.
      ...['--dev', '/dev', '--proc', '/proc', '--perms', '1777', '--tmpfs', '/tmp', '--perms', '1777', '--tmpfs', '/var/tmp'],
      ...system,
      ...hide,
      ...['--bind', root, root],
    ];
    this.root = root;
    // Last: run() works only once everything above has been validated.
    await super.prepare(workspaceRoot);
  }

  protected async spawnPlan(request: ExecRequest, _layout: WorkspaceLayout, stepEnv: Record<string, string>): Promise<SpawnPlan> {
    // What the worker wrote into the workspace since the last step (sources, credentials) becomes the build user's.
    if (this.user) await giveToBuildUser(this.root, this.user);
    const inside = [
      ...this.mounts,
      ...['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'],
      ...(request.network ? [] : ['--unshare-net']),
      ...['--die-with-parent', '--new-session', '--cap-drop', 'ALL'],
      '--clearenv',
      ...Object.entries(stepEnv).flatMap(([name, value]) => ['--setenv', name, value]),
      ...['--chdir', path.resolve(request.cwd)],
    ];
    return {
      // Only the command is on the command line; mounts and the environment come through fd 3.
      argv: [this.bwrapPath, '--args', '3', '--', ...request.argv],
      env: { ...LAUNCHER_ENV },
      fd3Data: Buffer.from(inside.map((arg) => `${arg}\0`).join('')),
      ...(this.user ? { uid: this.user.uid, gid: this.user.gid } : {}),
      // bwrap itself, when signalled, SIGKILLs its sandbox at once; TERM goes to the step instead.
      rootIsSupervisor: true,
    };
  }
}

/**
 * bwrap, running as the build user, opens the workspace by its path: every directory above it
 * must be searchable by that user. Directories the worker owns (the attempts dir, the work dir, a
 * data dir around it) get o+x: searchable, never listable, files keep their own modes. The home
 * directory and anything owned by someone else are never changed: the operator chooses another
 * work dir instead (the error says so).
 */
async function makeReachable(root: string, user: BuildUser): Promise<void> {
  const myUid = process.getuid?.();
  const home = homedir();
  for (let dir = path.dirname(root); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const info = await stat(dir);
    const searchable =
      (info.mode & 0o001) !== 0 || (info.uid === user.uid && (info.mode & 0o100) !== 0) || (info.gid === user.gid && (info.mode & 0o010) !== 0);
    if (searchable) continue;
    if (info.uid === myUid && dir !== home) {
      await chmod(dir, (info.mode & 0o7777) | 0o001);
      continue;
    }
    throw new SandboxError(
      'INVALID_CONFIG',
      `the build user ${user.uid}:${user.gid} cannot reach the workspace ${root}: ${dir} is not searchable for it ` +
        '(put the work dir outside the home directory, e.g. /var/lib/buildmesh-worker)',
    );
  }
}

/**
 * chown -R of everything below the workspace root still owned by the worker; never follows a
 * symlink. The root itself is not given away (see prepare()), nor the worker's own WORKER_DIR.
 */
async function giveToBuildUser(root: string, user: BuildUser): Promise<void> {
  const myUid = process.getuid?.() ?? 0;
  const entries = (await readdir(root)).filter((name) => name !== WORKER_DIR).map((name) => path.join(root, name));
  if (!entries.length) return;
  return new Promise((resolve, reject) => {
    execFile('chown', ['-R', '-P', `--from=${myUid}`, `${user.uid}:${user.gid}`, '--', ...entries], { env: { ...LAUNCHER_ENV } }, (err, _out, stderr) => {
      if (err) reject(new SandboxError('INVALID_CONFIG', `cannot hand the workspace to the build user: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}
