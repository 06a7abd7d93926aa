/**
 * A build is a list of phases. Pipelines (android, ios, web) and custom build
 * configs (.eas/build/<name>.yml) both produce a `BuildPlan` (choose-plan.ts picks
 * which); the runner executes its phases with start/end markers, durations and
 * results in the log. Plans are plain data wherever possible (commands as argv) so
 * tests can assert them exactly.
 */
import type { BuildJob } from '@buildmesh/protocol';
import type { IdleLimits } from '../sandbox/executor.js';
import type { StopReason } from './build-failure.js';

/** Artifact globs of a build, relative to the project: the installable app, and anything else worth keeping. */
export interface ArtifactPaths {
  applicationArchive: string[];
  buildArtifacts: string[];
}

/** What a build runs, whichever planner made it. */
export interface BuildPlan {
  /** For the log: "android pipeline", ".eas/build/test.yml (4 steps)". */
  description: string;
  phases: Phase[];
  /** Collected and uploaded after the phases (custom steps may also upload on their own). */
  artifacts: ArtifactPaths;
  /** Values the log must mask besides the project secrets (keystore passwords…). */
  redact: string[];
}

export interface Command {
  argv: string[];
  /** Relative to the project directory; defaults to it. May lead up to the source root (a monorepo's workspace root), never beyond. */
  cwd?: string;
  env?: Record<string, string>;
  /** Defaults to the phase's `network`. */
  network?: boolean;
  /** Defaults to the phase's `idleTimeout` (a custom build's install functions set their own). */
  idleTimeout?: IdleLimits;
}

export type Step =
  | { kind: 'command'; command: Command }
  /** In-process work (write a keystore, generate a Gradle file). `describe` is what tests and logs show. */
  | { kind: 'task'; describe: string; run: (ctx: PhaseContext) => Promise<void> };

export interface Phase {
  /** Stable phase id in EAS style, e.g. INSTALL_DEPENDENCIES, RUN_GRADLEW, or CUSTOM for a custom step. */
  name: string;
  /** Human name shown in logs; defaults to `name`. */
  title?: string;
  steps: Step[];
  /** Runs even after an earlier phase failed or the build was canceled (cleanup, on-error hooks). */
  always?: 'on-failure' | 'on-success' | 'always';
  /**
   * Decides at run time whether the phase runs, instead of `always` (a custom step's `if:`).
   * Called with the build's state just before the phase would start.
   */
  when?: (state: BuildState) => boolean;
  /** Network for this phase's commands; dependency install turns it on. Default false. */
  network?: boolean;
  timeoutMs?: number;
  /**
   * Stop each command of the phase that prints nothing for `killAfterMs` (a timeout, "no output
   * for …"), with a warning in the log after `warnAfterMs` of silence. Only commands, not tasks.
   */
  idleTimeout?: IdleLimits;
  /** Failure of this phase only logs a warning (e.g. expo doctor). */
  optional?: boolean;
  /** Patterns that classify a failure of this phase into a stable error code. */
  classify?: FailurePattern[];
}

/** The build's state as a phase condition sees it. */
export interface BuildState {
  /** A (non-optional) phase has failed. */
  failed: boolean;
  /** The build is being stopped (canceled, timed out, lease lost, worker stopping). */
  stopped: boolean;
  /** Why, when it is. */
  stopReason?: StopReason;
}

export interface FailurePattern {
  code: string;
  /** Matched against the last lines the phase printed. */
  pattern: RegExp;
  /** One line a person can act on. */
  explanation: string;
}

export interface PhaseContext {
  job: BuildJob;
  /** Absolute path of the app: the unpacked source, or its `appDir` folder (a monorepo). */
  projectDir: string;
  /** Absolute path of the unpacked source (a monorepo's repository root); absent: projectDir. */
  repoDir?: string;
  /** Absolute path of the attempt's workspace root (project, temp files, credentials live below it). */
  workspaceRoot: string;
  /**
   * Environment every command of the build gets (profile env, secrets, EAS_BUILD_* variables):
   * one object per attempt, to which `set-env` in a step adds for every later command.
   */
  env: Record<string, string>;
  log(text: string): void;
  signal: AbortSignal;
  /**
   * Runs a command of the build through the attempt's executor (sandboxed like every command
   * step), its lines logged under the phase; resolves with what it passed to `set-output`, and
   * rejects with a BuildFailure (STEP_FAILED) when it does not exit 0.
   */
  exec(command: Command): Promise<CommandResult>;
}

export interface CommandResult {
  /** `set-output NAME VALUE` calls of the command, by name. */
  outputs: Record<string, string>;
}
