/**
 * A profile's custom build config on the worker: reads `.eas/build/<name>` from the unpacked
 * project (inside it, a regular file, at most 1 MiB), validates it with the shared parser
 * (@buildmesh/protocol/custom-config, the same the CLI runs before upload) and turns each step into
 * a phase:
 *
 *   - a `run` step: its command (templates resolved when the step starts) through the attempt's
 *     executor, `set-output` values checked against its declared `outputs`;
 *   - a call of a function of the config: the function's command with its inputs;
 *   - a call of a built-in function (./functions): that function; `eas/build` expands into the
 *     platform pipeline's phases, whose artifacts the build then collects;
 *   - `if:` decides when the phase runs (default `success()`; `failure()`, `always()`, any
 *     expression), with the build's state at that moment.
 *
 * Phase name = the step's id (CUSTOM without one), title = its name.
 */
import { open, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  customConfigRelativePath,
  CustomConfigError,
  evaluate,
  interpolate,
  MAX_CONFIG_BYTES,
  parseCustomConfig,
  type CallStep,
  type CustomBuildConfig,
  type CustomStep,
  type ExpressionContext,
  type FunctionOutputSpec,
} from '@buildmesh/protocol/custom-config';
import { profileArtifactPaths } from '../runner/artifacts.js';
import { BuildFailure } from '../runner/build-failure.js';
import { isInside } from '../runner/paths.js';
import type { BuildPlan, BuildState, Phase, PhaseContext } from '../runner/plan.js';
import { BUILTIN_FUNCTIONS, type CustomPlanServices, type FunctionExpansion } from './functions/index.js';

export type { CustomPlanServices } from './functions/index.js';

/** The shared validation's refusal as the attempt's error (its code: CUSTOM_CONFIG_INVALID or CUSTOM_FUNCTION_UNSUPPORTED). */
function asBuildFailure<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CustomConfigError) throw new BuildFailure(err.code, err.message);
    throw err;
  }
}

async function readConfigFile(projectDir: string, relPath: string): Promise<string> {
  const absolute = resolve(projectDir, relPath);
  let real: string;
  try {
    real = await realpath(absolute);
  } catch {
    throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} does not exist in the project`);
  }
  // The file (or .eas/build) may be a symlink: its target must still be inside the project.
  if (!isInside(await realpath(projectDir), real)) throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} points outside the project`);
  const handle = await open(real, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} is not a regular file`);
    if (stat.size > MAX_CONFIG_BYTES) throw new BuildFailure('CUSTOM_CONFIG_INVALID', `${relPath} is larger than ${MAX_CONFIG_BYTES} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Reads and validates `.eas/build/<configName>` of the project. */
export async function readCustomConfig(projectDir: string, configName: string): Promise<{ relPath: string; config: CustomBuildConfig }> {
  const relPath = asBuildFailure(() => customConfigRelativePath(configName));
  const text = await readConfigFile(projectDir, relPath);
  return { relPath, config: asBuildFailure(() => parseCustomConfig(text, relPath)) };
}

/** What the steps of one build share while it runs: the outputs so far. */
class Scope {
  readonly outputs: Record<string, Record<string, string>> = {};

  constructor(private readonly services: CustomPlanServices) {}

  context(state: BuildState, env: Record<string, string>, inputs: Record<string, unknown> = {}): ExpressionContext {
    const { job } = this.services.input;
    const { build } = job;
    const steps = Object.fromEntries(Object.entries(this.outputs).map(([id, outputs]) => [id, { outputs }]));
    return {
      steps,
      env,
      inputs,
      eas: {
        job: { id: build.id, platform: build.platform, buildProfile: build.profileName, attempt: job.attempt.number, ...(build.gitCommit ? { gitCommitHash: build.gitCommit } : {}) },
        metadata: { buildProfile: build.profileName, ...(build.gitCommit ? { gitCommitHash: build.gitCommit } : {}) },
        env,
        runtime: { platform: process.platform === 'darwin' ? 'darwin' : 'linux', arch: process.arch },
      },
      failed: state.failed,
      stopped: state.stopped,
    };
  }
}

/** The state a step that is running sees: it only runs when its condition held, so nothing is stopped for it. */
function runningState(ctx: PhaseContext, failedBefore: () => boolean): BuildState {
  return { failed: failedBefore(), stopped: ctx.signal.aborted };
}

function checkOutputs(step: string, declared: FunctionOutputSpec[], set: Record<string, string>): Record<string, string> {
  const missing = declared.filter((o) => o.required && !Object.hasOwn(set, o.name)).map((o) => o.name);
  if (missing.length) throw new BuildFailure('STEP_FAILED', `${step} did not set its required output${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (set-output NAME VALUE)`);
  return set;
}

function resolveInputs(call: CallStep, scope: Scope, state: BuildState, env: Record<string, string>): Record<string, unknown> {
  const ctx = scope.context(state, env);
  return Object.fromEntries(Object.entries(call.inputs).map(([name, value]) => [name, typeof value === 'string' ? interpolate(value, ctx) : value]));
}

/** One custom step as a phase (or, for eas/build, the pipeline's phases). */
async function stepPhases(
  step: CustomStep,
  config: CustomBuildConfig,
  scope: Scope,
  services: CustomPlanServices,
  failedSoFar: { value: boolean },
): Promise<{ phases: Phase[]; expansion?: FunctionExpansion }> {
  const condition = step.if?.expr;
  const when = (state: BuildState): boolean => {
    failedSoFar.value = state.failed;
    return condition ? Boolean(evaluate(condition, scope.context(state, services.input.env ?? {}))) : !state.failed && !state.stopped;
  };
  const label = step.kind === 'run' ? `"${step.name}"` : `${step.function}${step.id ? ` (${step.id})` : ''}`;
  const base = {
    name: step.id ?? 'CUSTOM',
    title: step.name,
    when,
    ...(step.timeoutMinutes !== undefined ? { timeoutMs: Math.round(step.timeoutMinutes * 60_000) } : {}),
  };
  const record = (values: Record<string, string>): void => {
    if (step.id) scope.outputs[step.id] = { ...(scope.outputs[step.id] ?? {}), ...values };
  };
  const envFor = (ctx: PhaseContext, inputs: Record<string, unknown> = {}): Record<string, string> => {
    const expr = scope.context(runningState(ctx, () => failedSoFar.value), ctx.env, inputs);
    return Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, interpolate(v, expr)]));
  };
  const cwd = step.workingDirectory && step.workingDirectory !== '.' ? { cwd: step.workingDirectory } : {};

  if (step.kind === 'run') {
    return {
      phases: [
        {
          ...base,
          network: step.network,
          steps: [
            {
              kind: 'task',
              describe: `run ${label}`,
              run: async (ctx) => {
                const expr = scope.context(runningState(ctx, () => failedSoFar.value), ctx.env);
                const command = interpolate(step.command, expr);
                const { outputs } = await ctx.exec({ argv: [...step.shell, '-c', command], env: envFor(ctx), network: step.network, ...cwd });
                record(checkOutputs(label, step.outputs, outputs));
              },
            },
          ],
        },
      ],
    };
  }

  const own = config.functions[step.function];
  if (own) {
    const host = process.platform === 'darwin' ? 'darwin' : 'linux';
    if (own.supportedPlatforms && !own.supportedPlatforms.includes(host)) {
      throw new BuildFailure('CUSTOM_FUNCTION_UNSUPPORTED', `function "${own.id}" supports ${own.supportedPlatforms.join(', ')} only; this worker runs ${host}`);
    }
    return {
      phases: [
        {
          ...base,
          network: step.network,
          steps: [
            {
              kind: 'task',
              describe: `run function ${own.id}`,
              run: async (ctx) => {
                const state = runningState(ctx, () => failedSoFar.value);
                const inputs = resolveInputs(step, scope, state, ctx.env);
                const command = interpolate(own.command, scope.context(state, ctx.env, inputs));
                const { outputs } = await ctx.exec({ argv: [...own.shell, '-c', command], env: envFor(ctx, inputs), network: step.network, ...cwd });
                record(checkOutputs(`function ${own.id}`, own.outputs, outputs));
              },
            },
          ],
        },
      ],
    };
  }

  const builtin = BUILTIN_FUNCTIONS.get(step.function);
  // The shared validator only lets through ids that are built in or defined in the config.
  if (!builtin) throw new BuildFailure('CUSTOM_FUNCTION_UNSUPPORTED', `function "${step.function}" is not available on this worker`);
  if (builtin.expand) {
    const expansion = await builtin.expand(services);
    // Without an `if:`, the pipeline's phases keep their own rules (on-failure hooks…).
    const phases = condition ? expansion.phases.map((p) => ({ ...p, when })) : expansion.phases;
    return { phases, expansion };
  }
  const run = builtin.run!;
  return {
    phases: [
      {
        ...base,
        name: step.id ?? step.function.replace(/^eas\//, '').toUpperCase(),
        network: step.network || builtin.network === true,
        steps: [
          {
            kind: 'task',
            describe: step.function,
            run: async (ctx) => {
              const state = runningState(ctx, () => failedSoFar.value);
              const inputs = resolveInputs(step, scope, state, ctx.env);
              const set: Record<string, string> = {};
              await run({ phase: ctx, services, inputs, env: envFor(ctx, inputs), setOutput: (name, value) => (set[name] = value), ...cwd });
              record(set);
            },
          },
        ],
      },
    ],
  };
}

/** The plan of a build whose profile names a custom config. */
export async function planCustomBuild(configName: string, services: CustomPlanServices): Promise<BuildPlan> {
  const { relPath, config } = await readCustomConfig(services.input.projectDir, configName);
  const scope = new Scope(services);
  const failedSoFar = { value: false };
  const phases: Phase[] = [];
  let artifacts = profileArtifactPaths(services.input.job.build.profile);
  const redact: string[] = [];
  for (const step of config.steps) {
    const { phases: stepPhasesList, expansion } = await stepPhases(step, config, scope, services, failedSoFar);
    phases.push(...stepPhasesList);
    if (expansion?.artifacts) artifacts = expansion.artifacts;
    if (expansion?.redact) redact.push(...expansion.redact);
  }
  const count = config.steps.length;
  return { description: `${relPath} (${count} step${count === 1 ? '' : 's'}${config.name ? `: ${config.name}` : ''})`, phases, artifacts, redact };
}
