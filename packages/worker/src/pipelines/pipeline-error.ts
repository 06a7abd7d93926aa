/**
 * Pipelines throw the runner's one failure class (../runner/build-failure.ts) under the name they
 * have always used: a refusal before any phase runs (TOOLCHAIN_MISSING, CREDENTIALS_MISSING…) or a
 * task step failing, with a stable code the runner keeps as the build's error code.
 */
export { BuildFailure as PipelineError } from '../runner/build-failure.js';
