/**
 * The one place a build's plan is chosen: the profile's custom config (`config: name.yml`, see
 * ../custom/plan-custom.ts) when it names one, else the platform pipeline (../pipelines). Called
 * once the source is unpacked; both planners take the attempt's environment object (computed once
 * per attempt) and add to it. A pipeline plan gets CONFIGURE_APP_VERSION (remote app versions)
 * and CONFIGURE_EXPO_UPDATES (the profile's channel) before its build phase, and ends with the
 * project's `eas-build-on-cancel` hook.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheStore } from '../cache/store.js';
import { planCustomBuild } from '../custom/plan-custom.js';
import { createPlanContext, type PlanContext } from '../pipelines/context.js';
import type { PipelinePlan, PlanInput } from '../pipelines/index.js';
import { detectInstallPackageManager, resolveInstallDir, runScriptCommand, type PackageJson } from '../pipelines/package-manager.js';
import { withAppVersionPhase } from './app-version.js';
import { withChannelPhase } from './expo-updates-channel.js';
import type { ArtifactSpec } from './artifacts.js';
import type { BuildPlan, Phase, PhaseContext } from './plan.js';

export interface ChoosePlanDeps {
  /** The Expo pipelines' planner (tests may pass another). */
  planPipeline(input: PlanInput): Promise<PipelinePlan>;
  /** Collects and uploads artifacts through the attempt (custom steps that upload). */
  upload(spec: ArtifactSpec, ctx: PhaseContext): Promise<void>;
  /** The worker's per-org cache, for eas/restore_cache and eas/save_cache. */
  cache?: CacheStore;
}

export async function choosePlan(input: PlanInput & { env: Record<string, string> }, deps: ChoosePlanDeps): Promise<BuildPlan> {
  const { build } = input.job;
  const configName = build.profile.config;
  if (configName) {
    let planContext: Promise<PlanContext> | undefined;
    return planCustomBuild(configName, {
      input,
      planPipeline: deps.planPipeline,
      planContext: () => (planContext ??= createPlanContext(input)),
      upload: deps.upload,
      ...(deps.cache ? { cache: deps.cache } : {}),
    });
  }
  const plan = await deps.planPipeline(input);
  // A planner that built its own env (tests) still hands its additions to the attempt's.
  if (plan.env !== input.env) Object.assign(input.env, plan.env);
  const packageJson = await readPackageJson(input.projectDir);
  const onCancel = onCancelHookPhase(input.projectDir, input.repoDir ?? input.projectDir, packageJson);
  const usesExpoUpdates = [packageJson?.dependencies, packageJson?.devDependencies].some((deps) => typeof deps === 'object' && deps !== null && Object.hasOwn(deps, 'expo-updates'));
  const phases = withChannelPhase(withAppVersionPhase(plan.phases, build.platform, build.profile.appBuildVersion), build.platform, build.profile.channel, usesExpoUpdates);
  return { description: `${build.platform} pipeline`, phases: onCancel ? [...phases, onCancel] : phases, artifacts: plan.artifacts, redact: plan.redact };
}

/** How long the `eas-build-on-cancel` hook may run once the build is canceled. */
export const ON_CANCEL_HOOK_TIMEOUT_MS = 60_000;

/**
 * `eas-build-on-cancel`, as on EAS: the project's npm script runs when the build is canceled (not
 * when it fails, times out, or the worker hands it back), after the running step was stopped,
 * for at most ON_CANCEL_HOOK_TIMEOUT_MS, with the network on.
 */
async function readPackageJson(projectDir: string): Promise<PackageJson | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(projectDir, 'package.json'), 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as PackageJson) : null;
  } catch {
    return null;
  }
}

function onCancelHookPhase(projectDir: string, repoDir: string, packageJson: PackageJson | null): Phase | null {
  if (!packageJson || typeof packageJson.scripts?.[ON_CANCEL_HOOK] !== 'string') return null;
  // A monorepo app's package manager is its workspace root's (the lockfile is there).
  const pm = detectInstallPackageManager(resolveInstallDir(repoDir, projectDir), projectDir, packageJson);
  return {
    name: 'ON_CANCEL_HOOK',
    steps: [{ kind: 'command', command: { argv: runScriptCommand(pm, ON_CANCEL_HOOK) } }],
    network: true,
    timeoutMs: ON_CANCEL_HOOK_TIMEOUT_MS,
    when: (state) => state.stopReason === 'canceled',
  };
}

const ON_CANCEL_HOOK = 'eas-build-on-cancel';
