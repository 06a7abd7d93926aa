/**
 * The one place a build's plan is chosen: the profile's custom config (`config: name.yml`, see
 * ../custom/plan-custom.ts) when it names one, else the platform pipeline (../pipelines). Called
 * once the source is unpacked; both planners take the attempt's environment object (computed once
 * per attempt) and add to it.
 */
import { planCustomBuild } from '../custom/plan-custom.js';
import { createPlanContext, type PlanContext } from '../pipelines/context.js';
import type { PipelinePlan, PlanInput } from '../pipelines/index.js';
import type { ArtifactSpec } from './artifacts.js';
import type { BuildPlan, PhaseContext } from './plan.js';

export interface ChoosePlanDeps {
  /** The Expo pipelines' planner (tests may pass another). */
  planPipeline(input: PlanInput): Promise<PipelinePlan>;
  /** Collects and uploads artifacts through the attempt (custom steps that upload). */
  upload(spec: ArtifactSpec, ctx: PhaseContext): Promise<void>;
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
    });
  }
  const plan = await deps.planPipeline(input);
  // A planner that built its own env (tests) still hands its additions to the attempt's.
  if (plan.env !== input.env) Object.assign(input.env, plan.env);
  return { description: `${build.platform} pipeline`, phases: plan.phases, artifacts: plan.artifacts, redact: plan.redact };
}
