/**
 * A build is a list of phases. Pipelines (android, ios, web) and custom build
 * configs (.eas/build/<name>.yml) both produce a `Phase[]`; the runner executes it
 * with start/end markers, durations and results in the log. Plans are plain data
 * wherever possible (commands as argv) so tests can assert them exactly.
 */
import type { BuildJob } from '@buildmesh/protocol';

export interface Command {
  argv: string[];
  /** Relative to the project directory; defaults to it. */
  cwd?: string;
  env?: Record<string, string>;
  /** Defaults to the phase's `network`. */
  network?: boolean;
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
  /** Network for this phase's commands; dependency install turns it on. Default false. */
  network?: boolean;
  timeoutMs?: number;
  /** Failure of this phase only logs a warning (e.g. expo doctor). */
  optional?: boolean;
  /** Patterns that classify a failure of this phase into a stable error code. */
  classify?: FailurePattern[];
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
  /** Absolute path of the unpacked project. */
  projectDir: string;
  /** Absolute path of the attempt's workspace root (project, temp files, credentials live below it). */
  workspaceRoot: string;
  /** Environment every command of the build gets (profile env, secrets, EAS_BUILD_* variables). */
  env: Record<string, string>;
  log(text: string): void;
  signal: AbortSignal;
}
