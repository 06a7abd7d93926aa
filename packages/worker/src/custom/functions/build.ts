/**
 * eas/build: the whole platform pipeline (install, prebuild, credentials, Gradle / Xcode / web
 * export, the npm hooks) as the step's phases, planned when the custom plan is made; its
 * application archive and buildArtifactPaths are collected at the end of the build, as for a
 * build without a custom config.
 */
import type { BuiltinFunction } from './types.js';

export const build: BuiltinFunction = {
  id: 'eas/build',
  expand: async (services) => {
    const plan = await services.planPipeline(services.input);
    return { phases: plan.phases, artifacts: plan.artifacts, redact: plan.redact };
  },
};
