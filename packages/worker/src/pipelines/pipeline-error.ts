/**
 * A pipeline refusing a build, or a task step failing, for a reason with a stable code from the
 * BuildErrors catalogue (TOOLCHAIN_MISSING, CREDENTIALS_MISSING, SIGNING_MISMATCH…). Thrown by
 * `planPipeline` before any phase runs, and by task steps while a phase runs; the runner keeps
 * `code` as the build's error code (run-phases.ts toBuildError). The message is safe to log: it
 * never holds a secret.
 */
import type { BuildErrorCode } from '@buildmesh/protocol';

export class PipelineError extends Error {
  constructor(
    readonly code: BuildErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}
