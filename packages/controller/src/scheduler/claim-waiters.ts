/**
 * The claim long-poll. A worker's claim first tries the store; if nothing
 * matches, the request is parked here until a "build queued" wake-up offers it a
 * build, its wait runs out (204), its client goes away, or the controller shuts
 * down (204).
 *
 * A wake-up goes to ONE idle waiter that can take the build (platform, labels,
 * pool) rather than to all of them, so ten thousand idle long-polls do not
 * stampede the store for every submit. If that waiter comes back empty (no free
 * slot, or another claimer was faster), the offer moves on to the next one, a
 * bounded number of times. The store stays the only judge of who gets what.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Platform } from '@buildmesh/protocol';
import type { Claimant, ClaimedJob, Store } from '../store/store.js';
import type { BuildQueuedEvent, Wakeups } from './wakeups.js';

/** How many waiters one wake-up may try before giving up (they re-poll within claimWaitMs anyway). */
const MAX_OFFERS_PER_EVENT = 8;

interface Waiter {
  claimant: Claimant;
  /** A store.claim for this waiter is in flight. */
  busy: boolean;
  /** A wake-up arrived during the in-flight claim: look again before parking. */
  dirty: boolean;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (job: ClaimedJob | null) => void;
}

export class ClaimWaiters {
  private readonly all = new Set<Waiter>();
  private readonly byPlatform = new Map<Platform, Set<Waiter>>();
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: Store,
    wakeups: Wakeups,
    private readonly log: FastifyBaseLogger,
  ) {
    this.unsubscribe = wakeups.onBuildQueued((event) => this.offer(event, new Set()));
  }

  get size(): number {
    return this.all.size;
  }

  /**
   * Resolves with a job as soon as the store hands one to this claimant, or null
   * after waitMs. `onAbandon` registers the hook that drops the waiter when the
   * client disconnects.
   */
  wait(claimant: Claimant, waitMs: number, onAbandon: (abandon: () => void) => void): Promise<ClaimedJob | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = { claimant, busy: false, dirty: false, done: false, timer: undefined, resolve };
      // Registered before the first claim so a build queued meanwhile marks it dirty instead of being missed.
      this.add(waiter);
      onAbandon(() => this.finish(waiter, null));
      void this.run(waiter).then((got) => {
        if (got || waiter.done) return;
        if (waitMs <= 0) this.finish(waiter, null);
        else waiter.timer = setTimeout(() => this.finish(waiter, null), waitMs);
      });
    });
  }

  /** A removed worker's parked claims end now (204); its next request gets 401. */
  dropWorker(workerId: string): void {
    for (const waiter of [...this.all]) if (waiter.claimant.workerId === workerId) this.finish(waiter, null);
  }

  /** Shutdown: every parked claim answers 204 and new ones return at once. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const waiter of [...this.all]) this.finish(waiter, null);
  }

  /** Claims for the waiter until it gets a job or no wake-up arrived meanwhile. */
  private async run(waiter: Waiter): Promise<boolean> {
    waiter.busy = true;
    try {
      do {
        waiter.dirty = false;
        if (waiter.done) return false;
        let job: ClaimedJob | undefined;
        try {
          job = await this.store.claim(waiter.claimant);
        } catch (err) {
          this.log.error({ err, workerId: waiter.claimant.workerId }, 'claim failed');
          return false;
        }
        if (job) {
          if (waiter.done) {
            // The client left while the claim ran: undo it so the build neither waits for a lease to lapse
            // nor loses an attempt, and offer it to the next waiter.
            const released = await this.store.releaseClaim(waiter.claimant.workerId, job.attempt.id).catch(() => false);
            this.log.warn({ workerId: waiter.claimant.workerId, buildId: job.build.id, released }, 'claimed for a worker that disconnected');
            if (released) this.offer({ buildId: job.build.id, orgId: null, platform: job.build.platform, labels: job.build.labels }, new Set());
            return true;
          }
          this.finish(waiter, job);
          return true;
        }
      } while (waiter.dirty);
      return false;
    } finally {
      waiter.busy = false;
    }
  }

  private offer(event: BuildQueuedEvent, tried: Set<Waiter>): void {
    if (tried.size >= MAX_OFFERS_PER_EVENT) return;
    const candidates = event.platform ? this.byPlatform.get(event.platform) : this.all;
    if (!candidates) return;
    let busyMatch: Waiter | undefined;
    for (const waiter of candidates) {
      if (tried.has(waiter) || !matches(waiter.claimant, event)) continue;
      if (waiter.busy) {
        busyMatch ??= waiter;
        continue;
      }
      tried.add(waiter);
      void this.run(waiter).then((got) => {
        if (!got) this.offer(event, tried);
      });
      return;
    }
    // Every matching waiter is mid-claim: make one of them look again when it finishes.
    if (busyMatch) busyMatch.dirty = true;
  }

  private add(waiter: Waiter): void {
    this.all.add(waiter);
    for (const platform of waiter.claimant.platforms) {
      let set = this.byPlatform.get(platform);
      if (!set) this.byPlatform.set(platform, (set = new Set()));
      set.add(waiter);
    }
  }

  private finish(waiter: Waiter, job: ClaimedJob | null): void {
    if (waiter.done) return;
    waiter.done = true;
    if (waiter.timer) clearTimeout(waiter.timer);
    this.all.delete(waiter);
    for (const platform of waiter.claimant.platforms) this.byPlatform.get(platform)?.delete(waiter);
    waiter.resolve(job);
  }
}

function matches(claimant: Claimant, event: BuildQueuedEvent): boolean {
  if (event.platform && !claimant.platforms.includes(event.platform)) return false;
  if (event.orgId && claimant.orgId !== null && claimant.orgId !== event.orgId) return false;
  for (const [key, value] of Object.entries(event.labels)) if (claimant.labels[key] !== value) return false;
  return true;
}
