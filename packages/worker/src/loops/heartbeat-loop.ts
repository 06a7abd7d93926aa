/**
 * Keeps one attempt's lease alive at the interval the controller sets, and
 * listens to what the reply says:
 *  - `cancel: true` → stop the build (reason canceled or timed_out). Heartbeats go
 *    on until the attempt has reported, so the lease holds while it stops.
 *  - 409 LEASE_LOST / 404 / 401 → the lease is gone and another worker may have the
 *    build: the lease is lost (the attempt stops at once and reports nothing).
 *  - the controller is unreachable → keep building and keep trying (sooner than
 *    the interval), so a restarted controller sees us again before the lease lapses.
 *    Each accepted heartbeat renews the AttemptLease from the moment it was sent; if
 *    none is accepted within the lease, the lease is lost on the worker's own clock.
 */
import type { BuildMeshClient, HeartbeatResponse } from '@buildmesh/protocol';
import type { WorkerLogger } from '../logger.js';
import { backoffDelay, describeError, isLeaseLost, type AttemptLease } from '../retry.js';

export interface HeartbeatLoopOptions {
  client: BuildMeshClient;
  attemptId: string;
  intervalMs: number;
  onCancel(reason: 'canceled' | 'timed_out'): void;
  /** Renewed by every accepted heartbeat; lost on LEASE_LOST. The loop stops when it is lost. */
  lease: AttemptLease;
  logger: WorkerLogger;
}

export interface HeartbeatLoop {
  /** Stops the loop; resolves when no heartbeat is in flight any more. */
  stop(): Promise<void>;
  /** The last successful reply, if any. */
  readonly last: HeartbeatResponse | undefined;
}

/** Retries while the controller is away start at this and back off up to the interval. */
const RETRY_BASE_MS = 250;

export function startHeartbeatLoop(options: HeartbeatLoopOptions): HeartbeatLoop {
  const { client, attemptId, logger } = options;
  let intervalMs = options.intervalMs;
  let stopped = false;
  let canceled = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let failures = 0;
  let last: HeartbeatResponse | undefined;

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = beat().finally(() => (inFlight = undefined));
    }, delayMs);
  };

  async function beat(): Promise<void> {
    const sentAt = Date.now();
    try {
      const reply = await client.heartbeat(attemptId);
      if (stopped) return;
      options.lease.renewed(sentAt, reply.timing.leaseTtlMs);
      last = reply;
      if (failures > 0) logger.info({ attemptId, failures }, 'heartbeat: controller reachable again');
      failures = 0;
      intervalMs = reply.timing.heartbeatIntervalMs > 0 ? reply.timing.heartbeatIntervalMs : intervalMs;
      if (reply.cancel && !canceled) {
        canceled = true;
        options.onCancel(reply.reason === 'timed_out' ? 'timed_out' : 'canceled');
      }
      schedule(intervalMs);
    } catch (err) {
      if (stopped) return;
      if (isLeaseLost(err)) {
        stopped = true;
        logger.warn({ attemptId, err: describeError(err) }, 'heartbeat: lease lost; stopping the build');
        options.lease.lose(err);
        return;
      }
      failures++;
      if (failures === 1 || failures % 20 === 0) logger.warn({ attemptId, failures, err: describeError(err) }, 'heartbeat failed; retrying');
      schedule(backoffDelay(failures, { baseMs: RETRY_BASE_MS, maxMs: Math.max(RETRY_BASE_MS, intervalMs) }));
    }
  }

  const onLost = (): void => {
    stopped = true;
    clearTimeout(timer);
  };
  options.lease.lost.addEventListener('abort', onLost, { once: true });
  schedule(intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      options.lease.lost.removeEventListener('abort', onLost);
      await inFlight;
    },
    get last() {
      return last;
    },
  };
}
