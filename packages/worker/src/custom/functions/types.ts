/**
 * What a built-in function of a custom build (`eas/checkout`, `eas/build`, …) is: one object per
 * file in this folder, registered in index.ts, with its inputs declared in
 * @buildmesh/protocol/custom-config (custom-functions.ts), which is what configs are validated
 * against. A function either runs when its step runs (`run`: commands only through `ctx.phase.exec`,
 * so they run in the attempt's sandbox like any other step), or expands into phases when the plan
 * is made (`expand`: eas/build becomes the platform pipeline).
 */
import type { CacheStore } from '../../cache/store.js';
import type { ArtifactSpec } from '../../runner/artifacts.js';
import type { ArtifactPaths, Phase, PhaseContext } from '../../runner/plan.js';
import type { PlanContext } from '../../pipelines/context.js';
import type { PipelinePlan, PlanInput } from '../../pipelines/index.js';

/** What the custom planner gives every function: the attempt's inputs and services. */
export interface CustomPlanServices {
  /** The attempt's plan input (job, paths, credentials, secrets, the attempt's env). */
  input: PlanInput;
  /** The Expo pipelines' planner (eas/build). */
  planPipeline(input: PlanInput): Promise<PipelinePlan>;
  /** The project as the pipelines see it (package manager, package.json); read once, on first use. */
  planContext(): Promise<PlanContext>;
  /** Collects and uploads artifacts now, through the attempt. */
  upload(spec: ArtifactSpec, ctx: PhaseContext): Promise<void>;
  /** The worker's per-org cache (eas/restore_cache, eas/save_cache); absent when it keeps none. */
  cache?: CacheStore;
}

export interface FunctionRunContext {
  phase: PhaseContext;
  services: CustomPlanServices;
  /** The call's inputs, templates resolved, defaults filled in. */
  inputs: Record<string, unknown>;
  /** The step's working_directory (relative to the project), if it has one. */
  cwd?: string;
  /** The step's env (templates resolved), added to the commands the function runs. */
  env: Record<string, string>;
  setOutput(name: string, value: string): void;
}

export interface FunctionExpansion {
  phases: Phase[];
  /** Replaces the plan's end-of-build artifacts (eas/build: the pipeline's). */
  artifacts?: ArtifactPaths;
  redact?: string[];
}

export interface BuiltinFunction {
  id: string;
  /** The commands it runs need the network (dependency installs). */
  network?: boolean;
  run?(ctx: FunctionRunContext): Promise<void>;
  expand?(services: CustomPlanServices): Promise<FunctionExpansion>;
}
