/**
 * Unconfined never crosses a tenant. A worker whose executor is `none` (chosen, fallen back to, or
 * not reported: absent counts as none) runs a build as the worker's own user, so that build can read
 * whatever the worker can. Such a worker may serve only the org that enrolled it: the shared pool
 * refuses it at enrollment, at every hello and at every claim (403 SANDBOX_REQUIRED).
 */
import { ApiError, type SandboxExecutor, type WorkerPool } from '@buildmesh/protocol';

export const confines = (executor: SandboxExecutor | undefined): boolean => executor === 'bwrap';

/** Throws SANDBOX_REQUIRED when a worker with this executor may not sit in this pool. */
export function requireSandboxForPool(pool: WorkerPool, executor: SandboxExecutor | undefined): void {
  if (pool === 'shared' && !confines(executor)) {
    throw new ApiError(
      'SANDBOX_REQUIRED',
      `a shared-pool worker must run builds in a sandbox (executor bwrap), this one reports ${executor ?? 'none'}: ` +
        'install bubblewrap and start it with --sandbox bwrap, or enroll it with an org enrollment token',
    );
  }
}
