/**
 * The executor is the only way a build runs a process. Every executor gives the
 * same guarantees (own process group, reduced environment, killable as a tree),
 * so the runner and the pipelines never know which one they run in.
 *
 * A new executor (for example a macOS VM executor that clones a Tart VM per
 * build) implements this interface and is registered in `select.ts`.
 */
export interface ExecRequest {
  /** argv[0] is looked up on PATH; no shell unless argv asks for one (`['bash', '-c', script]`). */
  argv: string[];
  /** Absolute working directory; must be inside the workspace. */
  cwd: string;
  /** The job's environment, added on top of the executor's allowlist. */
  env: Record<string, string>;
  /** Network access for this process (dependency install needs it; build steps by default do not). */
  network: boolean;
  /** Kill the process tree after this long (TERM, grace, KILL); reported as `timedOut`. */
  timeoutMs?: number;
  /**
   * Output watchdog: after `warnAfterMs` without any output `onIdleWarning` is called (once per
   * silence), after `killAfterMs` without any output the tree is stopped like on `timeoutMs` and
   * reported as `timedOut` with `idle`. Every chunk written to stdout or stderr restarts both.
   */
  idle?: IdleLimits;
  onIdleWarning?: (silentMs: number) => void;
  /** Aborting stops the process tree (TERM, grace, KILL); reported as `canceled`. */
  signal?: AbortSignal;
  /** Called once per complete line (without the newline); a final partial line is flushed at exit. */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

/** How long a process may stay silent (see ExecRequest.idle). */
export interface IdleLimits {
  warnAfterMs?: number;
  killAfterMs: number;
}

export interface ExecResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Set (with timedOut) when the tree was stopped for printing nothing for `idle.killAfterMs`. */
  idle?: boolean;
  canceled: boolean;
  durationMs: number;
}

export interface Executor {
  readonly name: string;
  /** Called once per attempt with the attempt's workspace root before any `run`. */
  prepare(workspaceRoot: string): Promise<void>;
  run(request: ExecRequest): Promise<ExecResult>;
  /** Called once per attempt after the last `run`, also after failure or cancel. */
  dispose(): Promise<void>;
}
