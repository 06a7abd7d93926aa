/**
 * Wake-ups between requests: a build entered the queue (claim waiters), a log
 * batch arrived or a build changed state (log followers). One interface, two
 * implementations: this in-process bus (SQLite, one controller) and
 * PgWakeups (pg-wakeups.ts), which carries the same events between replicas over
 * PostgreSQL LISTEN/NOTIFY.
 *
 * Events are hints, never facts: every listener re-reads the store, so a lost or
 * duplicated wake-up costs latency, not correctness.
 */
import type { Platform } from '@buildmesh/protocol';

export interface BuildQueuedEvent {
  buildId: string;
  /** Unknown (null) for builds requeued by the sweeper: any waiter may try. */
  orgId: string | null;
  platform: Platform | null;
  labels: Record<string, string>;
}

export type BuildEvent = { type: 'log' } | { type: 'status' };

export interface Wakeups {
  buildQueued(event: BuildQueuedEvent): void;
  logAppended(buildId: string): void;
  buildChanged(buildId: string): void;
  onBuildQueued(listener: (event: BuildQueuedEvent) => void): () => void;
  /** Log and status events of one build; returns the unsubscribe function. */
  onBuild(buildId: string, listener: (event: BuildEvent) => void): () => void;
}

export class InProcessWakeups implements Wakeups {
  private readonly queuedListeners = new Set<(event: BuildQueuedEvent) => void>();
  // A Map of Sets rather than an EventEmitter: thousands of followers, no listener-count warnings.
  private readonly buildListeners = new Map<string, Set<(event: BuildEvent) => void>>();

  buildQueued(event: BuildQueuedEvent): void {
    for (const listener of this.queuedListeners) listener(event);
  }

  logAppended(buildId: string): void {
    this.emitBuild(buildId, { type: 'log' });
  }

  buildChanged(buildId: string): void {
    this.emitBuild(buildId, { type: 'status' });
  }

  onBuildQueued(listener: (event: BuildQueuedEvent) => void): () => void {
    this.queuedListeners.add(listener);
    return () => this.queuedListeners.delete(listener);
  }

  onBuild(buildId: string, listener: (event: BuildEvent) => void): () => void {
    let set = this.buildListeners.get(buildId);
    if (!set) this.buildListeners.set(buildId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.buildListeners.get(buildId) === set) this.buildListeners.delete(buildId);
    };
  }

  /** Every followed build looks again (the periodic re-check of the PostgreSQL wake-ups). */
  pokeAll(): void {
    for (const buildId of [...this.buildListeners.keys()]) this.emitBuild(buildId, { type: 'status' });
  }

  private emitBuild(buildId: string, event: BuildEvent): void {
    const set = this.buildListeners.get(buildId);
    if (!set) return;
    for (const listener of [...set]) listener(event);
  }
}
