/**
 * One long-poll claim per free slot. The controller answers the moment a job
 * matching this worker exists (or 204 after the wait), so there is no polling
 * delay; a slot that got a job runs it to the end and then claims again. While
 * the controller is away, each slot backs off with jitter and resumes. `drain()`
 * stops claiming at once (in-flight long-polls are aborted) and lets running jobs
 * finish; `done` resolves when every slot is idle.
 */
import { ApiError, type BuildJob, type BuildMeshClient } from '@buildmesh/protocol';
import type { WorkerLogger } from '../logger.js';
import { backoffDelay, describeError, isRetryable, sleep } from '../retry.js';

export interface ClaimLoopOptions {
  client: BuildMeshClient;
  slots: number;
  /** Long-poll length; read before every claim (the controller may change it). */
  waitMs(): number;
  /** Runs a job to its end; must not throw. */
  runJob(job: BuildJob): Promise<void>;
  /** The controller refuses this worker for good (credential revoked): the loop stops. */
  onFatal(err: unknown): void;
  logger: WorkerLogger;
}

export interface ClaimLoop {
  drain(): void;
  readonly draining: boolean;
  done: Promise<void>;
}

export function startClaimLoop(options: ClaimLoopOptions): ClaimLoop {
  const { client, logger } = options;
  const drainController = new AbortController();
  const drainSignal = drainController.signal;

  async function slot(index: number): Promise<void> {
    let failures = 0;
    while (!drainSignal.aborted) {
      let job: BuildJob | null;
      try {
        job = await client.claim(options.waitMs(), drainSignal);
        if (failures > 0) logger.info({ slot: index }, 'claim: controller reachable again');
        failures = 0;
      } catch (err) {
        if (drainSignal.aborted) break;
        if (!isRetryable(err)) {
          // SANDBOX_REQUIRED: an unconfined worker in the shared pool (see identity.ts, unconfinedRefused).
          const fatal =
            err instanceof ApiError && (err.code === 'UNAUTHENTICATED' || err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND' || err.code === 'SANDBOX_REQUIRED');
          if (fatal) {
            logger.error({ err: describeError(err) }, 'claim: the controller refuses this worker; stopping');
            options.onFatal(err);
            break;
          }
        }
        failures++;
        if (failures === 1 || failures % 10 === 0) logger.warn({ slot: index, failures, err: describeError(err) }, 'claim failed; backing off');
        await sleep(backoffDelay(failures), drainSignal);
        continue;
      }
      if (job) await options.runJob(job);
    }
  }

  const done = Promise.all(Array.from({ length: options.slots }, (_, i) => slot(i))).then(() => undefined);
  return {
    drain: () => drainController.abort('draining'),
    get draining() {
      return drainSignal.aborted;
    },
    done,
  };
}
