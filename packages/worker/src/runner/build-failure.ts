/**
 * A build failed for a reason with a stable code from the BuildErrors catalogue.
 * Thrown by in-process tasks (unpack, config parsing, artifact collection) and
 * turned by the phase runner into the attempt's error.
 */
import type { BuildErrorCode } from '@buildmesh/protocol';

export class BuildFailure extends Error {
  constructor(
    readonly code: BuildErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BuildFailure';
  }
}

/** Why an attempt is being stopped from outside its phases. */
export type StopReason =
  /** The user canceled the build (heartbeat reply). */
  | 'canceled'
  /** The build ran past its timeout (locally, or the heartbeat reply said so). */
  | 'timed_out'
  /** The controller no longer recognises this attempt's lease; another worker may run it. */
  | 'lease_lost'
  /** The worker is stopping and hands the build back. */
  | 'worker_stopping';

export function stopReasonOf(signal: AbortSignal): StopReason | undefined {
  if (!signal.aborted) return undefined;
  const reason: unknown = signal.reason;
  return reason === 'canceled' || reason === 'timed_out' || reason === 'lease_lost' || reason === 'worker_stopping' ? reason : 'canceled';
}
