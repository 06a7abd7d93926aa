/**
 * Executes a plan (Phase[]) through an executor: START_PHASE / END_PHASE markers
 * with result, duration and exit code; every output line tagged with its phase;
 * `always` phases after a failure or a stop; optional phases that only warn; per-
 * phase timeouts; failures classified from the phase's last 100 lines.
 *
 * A PhaseRunner keeps the build's state across several `run` calls, so the
 * attempt can run the PREPARE_PROJECT phase, then build the plan it produced,
 * then the artifact phases, with one set of rules and one summary.
 *
 * Every command (a command step, or `ctx.exec` from a task) gets `set-output` and
 * `set-env` (step-io.ts): what a command passes to `set-env` is added to the
 * attempt's environment for every later command.
 */
import { relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isBuildErrorCode, type BuildErrorCode, type FinishRequest, type PhaseResult } from '@buildmesh/protocol';
import type { Executor } from '../sandbox/executor.js';
import { BuildFailure, stopReasonOf, type StopReason } from './build-failure.js';
import { formatDuration, type BuildLog } from './build-log.js';
import { assertProjectInPlace, resolveInside } from './paths.js';
import type { Command, CommandResult, Phase, PhaseContext, Step } from './plan.js';
import { StepIoFactory } from './step-io.js';

/** Cleanup phases that run after a stop get this long at most unless they set their own timeout. */
export const DEFAULT_CLEANUP_TIMEOUT_MS = 5 * 60_000;

export type PhaseSummary = NonNullable<FinishRequest['phases']>[number];
export type BuildOutcome = FinishRequest['outcome'];
export interface BuildErrorReport {
  code: string;
  message: string;
  phase?: string;
}

export interface PhasesResult {
  outcome: BuildOutcome;
  error?: BuildErrorReport;
  phases: PhaseSummary[];
  /** Why the attempt was stopped from outside, if it was. */
  stop?: StopReason;
}

export interface PhaseRunnerOptions {
  executor: Executor;
  log: BuildLog;
  /** What every phase's context shares (log, signal and exec are the runner's own). */
  context: Omit<PhaseContext, 'log' | 'signal' | 'exec'>;
  /** Aborted with a StopReason (build-failure.ts) when the attempt must stop. */
  signal: AbortSignal;
  cleanupTimeoutMs?: number;
}

interface StepOutcome {
  result: PhaseResult;
  /** Ended by the attempt's stop (cancel, build timeout, lease lost), not by its own doing. */
  stopped?: boolean;
  exitCode?: number | null;
  error?: { code: string; message: string };
}

interface Failure extends BuildErrorReport {
  timedOut: boolean;
}

const MAX_SUMMARIES = 200;

export class PhaseRunner {
  private failure: Failure | undefined;
  private readonly summaries: PhaseSummary[] = [];
  private readonly stepIo: StepIoFactory;

  constructor(private readonly options: PhaseRunnerOptions) {
    this.stepIo = new StepIoFactory(options.context.workspaceRoot);
  }

  /** Has a (non-optional) phase failed so far? */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Is the build still healthy: nothing failed, nothing stopped it? */
  get ok(): boolean {
    return !this.failure && !this.options.signal.aborted;
  }

  async run(phases: readonly Phase[]): Promise<void> {
    for (const phase of phases) {
      if (this.shouldRun(phase)) await this.runPhase(phase);
      else this.summarize(phase.name, 'skipped', 0);
    }
  }

  result(): PhasesResult {
    const stop = stopReasonOf(this.options.signal);
    const phases = this.summaries.slice(0, MAX_SUMMARIES);
    const base = { phases, ...(stop ? { stop } : {}) };
    // A failure that happened before the stop is what the build is remembered for.
    if (this.failure) {
      const { timedOut, ...error } = this.failure;
      return { ...base, outcome: timedOut ? 'timed_out' : 'failed', error };
    }
    if (stop === 'timed_out') return { ...base, outcome: 'timed_out', error: { code: 'BUILD_TIMED_OUT', message: 'The build ran longer than its timeout.' } };
    if (stop) {
      const message = stop === 'canceled' ? 'The build was canceled.' : stop === 'worker_stopping' ? 'The worker stopped and handed the build back.' : 'The attempt lost its lease.';
      return { ...base, outcome: 'canceled', error: { code: 'BUILD_CANCELED', message } };
    }
    return { ...base, outcome: 'succeeded' };
  }

  private shouldRun(phase: Phase): boolean {
    if (phase.when) {
      const stopReason = stopReasonOf(this.options.signal);
      return phase.when({ failed: this.failure !== undefined, stopped: stopReason !== undefined, ...(stopReason ? { stopReason } : {}) });
    }
    if (this.options.signal.aborted) return phase.always === 'always';
    if (this.failure) return phase.always === 'always' || phase.always === 'on-failure';
    return phase.always !== 'on-failure';
  }

  private summarize(name: string, result: PhaseResult, durationMs: number): void {
    this.summaries.push({ name: name.slice(0, 64), result, durationMs: Math.round(durationMs) });
  }

  private async runPhase(phase: Phase): Promise<void> {
    const { log } = this.options;
    const title = phase.title ?? phase.name;
    const started = performance.now();
    // A phase that starts after the attempt was stopped (cleanup) must not be killed by that
    // same stop; it gets a bounded time of its own instead.
    const cleanup = this.options.signal.aborted;
    const signal = cleanup ? new AbortController().signal : this.options.signal;
    const budgetMs = phase.timeoutMs ?? (cleanup ? (this.options.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS) : undefined);
    const deadline = budgetMs === undefined ? undefined : started + budgetMs;

    log.startPhase(phase.name, title);
    let outcome: StepOutcome = { result: 'success' };
    for (const step of phase.steps) {
      outcome = await this.runStep(phase, step, signal, deadline);
      if (outcome.result !== 'success') break;
    }
    if (outcome.result === 'timed_out' && !outcome.stopped && !outcome.error) {
      outcome.error = { code: 'PHASE_TIMED_OUT', message: `"${title}" ran longer than its timeout of ${formatDuration(budgetMs ?? 0)}` };
    }
    if ((outcome.result === 'failed' || (outcome.result === 'timed_out' && !outcome.stopped)) && phase.optional) {
      log.system(phase.name, `warning: ${outcome.error?.message ?? `${title} failed`} (optional phase, the build continues)`);
      outcome.result = 'warning';
    }
    const durationMs = performance.now() - started;
    log.endPhase(phase.name, title, outcome.result, durationMs, outcome.exitCode);
    this.summarize(phase.name, outcome.result, durationMs);

    const phaseFailed = outcome.result === 'failed' || (outcome.result === 'timed_out' && !outcome.stopped);
    if (phaseFailed && !this.failure) {
      this.failure = {
        code: outcome.error?.code ?? 'STEP_FAILED',
        message: (outcome.error?.message ?? `"${title}" failed`).split('\n')[0]!.slice(0, 4096),
        phase: phase.name.slice(0, 64),
        timedOut: outcome.result === 'timed_out',
      };
    }
  }

  private async runStep(phase: Phase, step: Step, signal: AbortSignal, deadline: number | undefined): Promise<StepOutcome> {
    const remaining = deadline === undefined ? undefined : Math.max(0, Math.floor(deadline - performance.now()));
    if (remaining === 0) return { result: 'timed_out' };
    try {
      return step.kind === 'command'
        ? await this.runCommand(phase, step.command, signal, remaining)
        : await this.runTask(phase, step, signal, remaining);
    } catch (err) {
      const stop = stopReasonOf(signal);
      if (stop) return { result: stop === 'timed_out' ? 'timed_out' : 'canceled', stopped: true };
      const error = toBuildError(err);
      this.options.log.system(phase.name, `error: ${error.message}`);
      // A task's command that ran out of time (or of output) is a timeout, as a command step's is.
      return { result: error.code === 'PHASE_TIMED_OUT' ? 'timed_out' : 'failed', error };
    }
  }

  private async runCommand(phase: Phase, command: Command, signal: AbortSignal, timeoutMs: number | undefined): Promise<StepOutcome> {
    return (await this.execute(phase, command, signal, timeoutMs)).outcome;
  }

  /** Runs one command through the executor with set-output/set-env; the attempt's env takes what it set. */
  private async execute(phase: Phase, command: Command, signal: AbortSignal, timeoutMs: number | undefined): Promise<{ outcome: StepOutcome; outputs: Record<string, string> }> {
    const { log, context, executor } = this.options;
    // Relative to the app's folder, contained in the source root (a monorepo installs at its workspace root).
    const root = context.repoDir ?? context.projectDir;
    const cwd = await resolveInside(root, relative(root, resolve(context.projectDir, command.cwd ?? '.')) || '.', 'STEP_FAILED', 'working directory');
    const env = command.env ? { ...context.env, ...command.env } : { ...context.env };
    const io = await this.stepIo.create(env.PATH);
    log.system(phase.name, `$ ${formatArgv(command.argv)}`);
    const idle = command.idleTimeout ?? phase.idleTimeout;
    const result = await executor.run({
      argv: command.argv,
      cwd,
      env: { ...env, ...io.env },
      network: command.network ?? phase.network ?? false,
      timeoutMs,
      ...(idle
        ? {
            idle,
            onIdleWarning: (silentMs: number) =>
              log.system(phase.name, `warning: no output for ${formatSilence(silentMs)}; the command is stopped after ${formatSilence(idle.killAfterMs)} without output`),
          }
        : {}),
      signal,
      onLine: (stream, line) => log.write(stream, phase.name, line),
    });
    if (result.canceled) return { outcome: { result: stopReasonOf(signal) === 'timed_out' ? 'timed_out' : 'canceled', stopped: true, exitCode: result.exitCode }, outputs: {} };
    if (result.timedOut && result.idle) {
      const message = `"${phase.title ?? phase.name}" was stopped: no output for ${formatSilence(idle?.killAfterMs ?? 0)}`;
      log.system(phase.name, `error: ${message}`);
      return { outcome: { result: 'timed_out', exitCode: result.exitCode, error: { code: 'PHASE_TIMED_OUT', message } }, outputs: {} };
    }
    if (result.timedOut) return { outcome: { result: 'timed_out', exitCode: result.exitCode }, outputs: {} };
    const set = await io.collect();
    Object.assign(context.env, set.env);
    for (const name of Object.keys(set.env)) log.system(phase.name, `set-env ${name}`);
    if (result.exitCode === 0) return { outcome: { result: 'success', exitCode: 0 }, outputs: set.outputs };
    const status = result.exitCode !== null ? `exit code ${result.exitCode}` : `signal ${result.signal ?? 'unknown'}`;
    return {
      outcome: {
        result: 'failed',
        exitCode: result.exitCode,
        error: classifyFailure(phase, log.tail.lines()) ?? { code: 'STEP_FAILED', message: `"${phase.title ?? phase.name}" failed: ${command.argv[0]} ended with ${status}` },
      },
      outputs: set.outputs,
    };
  }

  private async runTask(phase: Phase, step: Extract<Step, { kind: 'task' }>, signal: AbortSignal, timeoutMs: number | undefined): Promise<StepOutcome> {
    const { log, context } = this.options;
    // Tasks run here, outside the sandbox: never in a project folder the build swapped for a link.
    await assertProjectInPlace(context.workspaceRoot, context.projectDir);
    // The task's own signal also fires on the phase timeout, so a well-behaved task stops then too.
    const controller = new AbortController();
    const onStop = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    const ctx: PhaseContext = {
      ...context,
      signal: controller.signal,
      log: (text) => log.system(phase.name, text),
      exec: async (command): Promise<CommandResult> => {
        const left = timeoutMs === undefined ? undefined : Math.max(1, Math.floor(started + timeoutMs - performance.now()));
        const { outcome, outputs } = await this.execute(phase, command, controller.signal, left);
        if (outcome.result === 'success') return { outputs };
        if (outcome.stopped || controller.signal.aborted) throw new BuildFailure('BUILD_CANCELED', 'stopped');
        if (outcome.result === 'timed_out') throw new BuildFailure('PHASE_TIMED_OUT', outcome.error?.message ?? `"${phase.title ?? phase.name}" ran longer than its timeout`);
        throw new BuildFailure((outcome.error?.code ?? 'STEP_FAILED') as BuildErrorCode, outcome.error?.message ?? 'the command failed');
      },
    };
    try {
      const stopped = new Promise<StepOutcome>((resolve) => {
        controller.signal.addEventListener('abort', () => {
          const reason = controller.signal.reason as unknown;
          if (reason === 'phase_timeout') resolve({ result: 'timed_out' });
          else resolve({ result: reason === 'timed_out' ? 'timed_out' : 'canceled', stopped: true });
        }, { once: true });
        if (timeoutMs !== undefined) timer = setTimeout(() => controller.abort('phase_timeout'), timeoutMs);
        if (signal.aborted) onStop();
      });
      return await Promise.race([step.run(ctx).then((): StepOutcome => ({ result: 'success' })), stopped]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    }
  }
}

/** "30 minutes", "15 minutes", "1 minute"; shorter spans as formatDuration writes them. */
export function formatSilence(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return formatDuration(ms);
}

/** A BuildFailure, or any error carrying a catalogue code (pipelines may throw their own), keeps its code. */
export function toBuildError(err: unknown): { code: string; message: string } {
  if (err instanceof BuildFailure) return { code: err.code, message: err.message };
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return { code: isBuildErrorCode(code) ? code : 'UNKNOWN_ERROR', message };
}

/** The first classify pattern matching the phase's last lines, as a build error. */
export function classifyFailure(phase: Phase, lastLines: readonly string[]): { code: string; message: string } | undefined {
  if (!phase.classify?.length) return undefined;
  const text = lastLines.join('\n');
  for (const { code, pattern, explanation } of phase.classify) {
    pattern.lastIndex = 0;
    if (pattern.test(text)) return { code, message: explanation };
  }
  return undefined;
}

/** argv as a shell would show it, on one line, bounded. */
export function formatArgv(argv: readonly string[]): string {
  // A YAML block scalar's trailing newline is not part of what the user wrote: no stray ⏎ at the end.
  const text = argv.map((a) => a.replace(/\s+$/, '')).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
  const oneLine = text.replace(/\r?\n/g, '⏎');
  return oneLine.length > 2000 ? `${oneLine.slice(0, 2000)}…` : oneLine;
}

/** Convenience: run one plan from a clean state. */
export async function runPhases(phases: readonly Phase[], options: PhaseRunnerOptions): Promise<PhasesResult> {
  const runner = new PhaseRunner(options);
  await runner.run(phases);
  return runner.result();
}
