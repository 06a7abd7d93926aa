/** Everything a route needs, built once at start and passed to every route module. */
import type { Timing } from '@buildmesh/protocol';
import type { BlobStore } from './blobs/blob-store.js';
import type { BlobPins } from './blobs/pins.js';
import type { ControllerOptions } from './config.js';
import type { Keyring } from './crypto/keyring.js';
import type { StreamQuota } from './http/sse.js';
import type { ControllerMetrics } from './metrics.js';
import type { ClaimWaiters } from './scheduler/claim-waiters.js';
import type { Wakeups } from './scheduler/wakeups.js';
import type { WebhookDeliverer } from './scheduler/webhook-deliverer.js';
import type { Store } from './store/store.js';

export interface ControllerContext {
  options: ControllerOptions;
  store: Store;
  blobs: BlobStore;
  pins: BlobPins;
  keyring: Keyring;
  wakeups: Wakeups;
  waiters: ClaimWaiters;
  metrics: ControllerMetrics;
  /** Server-set intervals sent to workers. */
  timing: Timing;
  /** A worker seen within this window counts as online. */
  onlineWithinMs: number;
  startedAt: number;
  /** This replica's name (BUILDMESH_REPLICA_ID, else <host>-<pid>). */
  replicaId: string;
  version: string;
  /** Live streams per org (BUILDMESH_ORG_MAX_STREAMS). */
  streams: StreamQuota;
  /** Open SSE streams and other long responses end when this fires (shutdown). */
  shutdown: ShutdownSignal;
  /** This replica's webhook outbox sender. */
  webhooks: WebhookDeliverer;
}

/** Lets long-lived responses (log follows) end cleanly when the controller stops. */
export class ShutdownSignal {
  private readonly listeners = new Set<() => void>();
  closing = false;

  onShutdown(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  trigger(): void {
    this.closing = true;
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }
}
