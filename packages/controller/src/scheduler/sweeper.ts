/**
 * Ends lapsed leases (requeue while attempts remain, else fail) and times out
 * overlong builds, every sweepIntervalMs, on the one replica that holds the
 * singleton role (each replica asks every interval, so a survivor takes over
 * within one interval). Requeued builds wake a claim waiter;
 * every changed build wakes its log followers.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.js';
import { startLoop, type Loop } from './loop.js';
import { ALWAYS, type Singleton } from './singleton.js';
import type { Wakeups } from './wakeups.js';

/** Idle queue lanes are removed every this many sweeps (30 s at the default interval; see sweep-queue-lanes.ts). */
const LANE_SWEEP_EVERY = 30;

export function startSweeper(store: Store, wakeups: Wakeups, intervalMs: number, log: FastifyBaseLogger, singleton: Singleton = ALWAYS, onlineWithinMs?: number): Loop {
  let lanesSweptAt = 0;
  return startLoop(
    'sweep',
    intervalMs,
    async () => {
      if (!(await singleton.holds())) return; // another replica sweeps
      const result = await store.sweep(new Date());
      if (Date.now() - lanesSweptAt >= LANE_SWEEP_EVERY * intervalMs) {
        lanesSweptAt = Date.now();
        const lanes = await store.sweepQueueLanes(new Date());
        if (lanes.restored > 0) log.warn({ lanes: lanes.restored }, 'sweep gave queued builds back the lanes a racing removal took');
      }
      // worker.offline webhooks: workers unseen for the online window.
      if (onlineWithinMs !== undefined) await store.markWorkersOffline(new Date(Date.now() - onlineWithinMs));
      for (const id of [...result.requeued, ...result.failed, ...result.timedOut]) wakeups.buildChanged(id);
      // The sweep result names builds, not their platform: offer each to any waiter.
      for (const id of result.requeued) wakeups.buildQueued({ buildId: id, orgId: null, platform: null, labels: {} });
      if (result.requeued.length + result.failed.length + result.timedOut.length > 0) {
        log.info({ requeued: result.requeued.length, failed: result.failed.length, timedOut: result.timedOut.length }, 'sweep ended lapsed leases');
      }
    },
    log,
  );
}
