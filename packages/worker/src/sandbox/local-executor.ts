/**
 * What the executors that run processes on this machine (none, bwrap) have in common: the
 * per-attempt lifecycle, the reduced environment, the working-directory check, and the process
 * tree handling of spawn-tree.ts. A subclass decides what actually gets spawned, with which
 * environment: the build's variables go to the build only, never to a launcher outside it.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { workspaceLayout, type WorkspaceLayout } from '../workspace/workspace.js';
import type { ExecRequest, ExecResult, Executor } from './executor.js';
import { runProcessTree } from './spawn-tree.js';

export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  constructor(
    readonly code: 'NOT_PREPARED' | 'CWD_OUTSIDE_WORKSPACE' | 'INVALID_ENV' | 'INVALID_CONFIG' | 'SANDBOX_UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

export interface LocalExecutorOptions {
  /** Between SIGTERM and SIGKILL when a step is stopped. Default 10 s. */
  killGraceMs?: number;
}

/**
 * Taken from the worker's own environment; everything else (tokens, the worker's config) stays
 * out of build steps. The job's own variables come on top, per request.
 */
export const INHERITED_ENV = ['PATH', 'LANG', 'LC_ALL', 'TERM', 'TZ'] as const;
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

/** What runProcessTree spawns for one request (see TreeRequest for each field). */
export interface SpawnPlan {
  argv: string[];
  /** The environment of the spawned process itself. */
  env: Record<string, string>;
  rootIsSupervisor?: boolean;
  uid?: number;
  gid?: number;
  fd3Data?: Buffer;
  passFds?: number[];
  marker?: string;
  /** Called once the run is over (closes passed descriptors). */
  cleanup?: () => void;
}

/** The fixed environment of every process the worker starts outside a build (launchers, chown). */
export const LAUNCHER_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' });

export abstract class LocalExecutor implements Executor {
  abstract readonly name: string;
  protected readonly killGraceMs: number;
  protected layout: WorkspaceLayout | undefined;
  /** Runs in flight, so that dispose() can guarantee none outlives the attempt. */
  private readonly running = new Map<AbortController, Promise<unknown>>();

  constructor(options: LocalExecutorOptions = {}) {
    this.killGraceMs = options.killGraceMs ?? 10_000;
  }

  async prepare(workspaceRoot: string): Promise<void> {
    if (!path.isAbsolute(workspaceRoot)) throw new SandboxError('INVALID_CONFIG', `workspace root must be absolute: ${workspaceRoot}`);
    const layout = workspaceLayout(path.resolve(workspaceRoot));
    await mkdir(layout.homeDir, { recursive: true });
    await mkdir(layout.tmpDir, { recursive: true });
    this.layout = layout;
  }

  async run(request: ExecRequest): Promise<ExecResult> {
    const layout = this.layout;
    if (!layout) throw new SandboxError('NOT_PREPARED', `${this.name} executor: run() before prepare()`);
    const cwd = path.resolve(request.cwd);
    const rel = path.relative(layout.root, cwd);
    if (!path.isAbsolute(request.cwd) || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw new SandboxError('CWD_OUTSIDE_WORKSPACE', `working directory ${request.cwd} is outside the workspace ${layout.root}`);
    }
    const env = stepEnvironment(layout, request.env);
    const plan = await this.spawnPlan(request, layout, env);

    const stopper = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, stopper.signal]) : stopper.signal;
    const { cleanup, ...spawnPlan } = plan;
    const run = runProcessTree({
      ...spawnPlan,
      cwd,
      timeoutMs: request.timeoutMs,
      idle: request.idle,
      onIdleWarning: request.onIdleWarning,
      signal,
      onLine: request.onLine,
      killGraceMs: this.killGraceMs,
    });
    this.running.set(stopper, run);
    try {
      return await run;
    } finally {
      this.running.delete(stopper);
      cleanup?.();
    }
  }

  /** Stops whatever still runs (normally nothing: the runner awaits its steps) and forgets the workspace. */
  async dispose(): Promise<void> {
    const inFlight = [...this.running];
    for (const [stopper] of inFlight) stopper.abort();
    await Promise.allSettled(inFlight.map(([, run]) => run));
    this.layout = undefined;
  }

  /** `stepEnv` is the build's complete environment: it must reach the build's processes only. */
  protected abstract spawnPlan(request: ExecRequest, layout: WorkspaceLayout, stepEnv: Record<string, string>): Promise<SpawnPlan>;
}

/** The allowlisted part of the worker's environment, HOME and TMPDIR inside the workspace, then the job's. */
export function stepEnvironment(layout: WorkspaceLayout, jobEnv: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= FALLBACK_PATH;
  env.HOME = layout.homeDir;
  env.TMPDIR = layout.tmpDir;
  for (const [name, value] of Object.entries(jobEnv)) {
    if (name === '' || name.includes('=') || name.includes('\0') || value.includes('\0')) {
      throw new SandboxError('INVALID_ENV', `invalid environment variable name or value: ${JSON.stringify(name)}`);
    }
    env[name] = value;
  }
  return env;
}
