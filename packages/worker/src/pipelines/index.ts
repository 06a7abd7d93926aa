/**
 * Turns a leased build into the phases that build it, from the project's resolved eas.json
 * profile, as EAS Build would for the same project. The runner calls `planPipeline` once the
 * source is unpacked, executes the phases, then collects `artifacts` (globs relative to the
 * project) and masks `redact` values in the log along with the project secrets.
 *
 * planPipeline rejects with a PipelineError (stable `code`) when the build cannot run here at
 * all: an iOS build on a non-macOS worker (TOOLCHAIN_MISSING), a device build without signing
 * credentials (CREDENTIALS_MISSING), a project without package.json (INSTALL_FAILED).
 */
import { planAndroid } from './android.js';
import { createPlanContext, type PipelinePlan, type PlanInput } from './context.js';
import { planIos } from './ios.js';
import { planWeb } from './web.js';

export async function planPipeline(input: PlanInput): Promise<PipelinePlan> {
  const ctx = await createPlanContext(input);
  switch (ctx.platform) {
    case 'android':
      return planAndroid(ctx);
    case 'ios':
      return planIos(ctx);
    case 'web':
      return planWeb(ctx);
  }
}

export { buildEnv } from './build-env.js';
export type { PipelineArtifacts, PipelinePlan, PlanInput } from './context.js';
export { PipelineError } from './pipeline-error.js';
export { detectPackageManager, installCommand, type PackageManager } from './package-manager.js';
export { resolveGradleTask } from './android.js';
