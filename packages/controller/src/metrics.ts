/**
 * Prometheus metrics. Queue and fleet gauges are read from the store on each
 * scrape (the store is the truth; nothing here can drift from it); the claim
 * latency histogram is observed as claims happen.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BuildStatus, PLATFORMS } from '@buildmesh/protocol';
import type { Store } from './store/store.js';
import { renderHistograms } from './stats/histograms.js';

const STATUSES = BuildStatus.anyOf.map((s) => s.const as string);

/** Per-replica figures of a PostgreSQL deployment (each replica exposes its own). */
export interface ReplicaFigures {
  replica: string;
  pool: { total: number; idle: number; waiting: number };
  wakeupsReceived: number;
  wakeupLagMs: number;
  runsSweeper: boolean;
}

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly builds: Gauge;
  private readonly queueDepth: Gauge;
  private readonly workersOnline: Gauge;
  private readonly claimLatency: Histogram;
  private readonly blobUploads: Counter;
  private readonly blobUploadBytes: Counter;

  constructor(
    private readonly store: Store,
    private readonly onlineWithinMs: number,
    claimWaiters: () => number,
    replicaFigures?: () => ReplicaFigures,
  ) {
    const registers = [this.registry];
    this.builds = new Gauge({ name: 'buildmesh_builds', help: 'Builds by status.', labelNames: ['status'], registers });
    this.queueDepth = new Gauge({ name: 'buildmesh_queue_depth', help: 'Queued builds by platform.', labelNames: ['platform'], registers });
    this.workersOnline = new Gauge({ name: 'buildmesh_workers_online', help: 'Workers seen within the online window.', registers });
    new Gauge({
      name: 'buildmesh_claim_waiters',
      help: 'Claim long-polls parked on this controller.',
      registers,
      collect() {
        this.set(claimWaiters());
      },
    });
    this.blobUploads = new Counter({ name: 'buildmesh_blob_uploads_total', help: 'Blobs (sources) uploaded through this replica (content-addressed: a blob the org has is not uploaded again).', registers });
    this.blobUploadBytes = new Counter({ name: 'buildmesh_blob_upload_bytes_total', help: 'Bytes of the blobs counted by buildmesh_blob_uploads_total.', registers });
    this.claimLatency = new Histogram({
      name: 'buildmesh_claim_latency_seconds',
      help: 'Time from a build entering the queue to a worker claiming it.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    });
    if (replicaFigures) {
      const labelNames = ['replica'];
      new Gauge({
        name: 'buildmesh_db_pool_connections',
        help: "This replica's PostgreSQL pool: total, idle, and requests waiting for a connection.",
        labelNames: ['replica', 'state'],
        registers,
        collect() {
          const f = replicaFigures();
          for (const state of ['total', 'idle', 'waiting'] as const) this.set({ replica: f.replica, state }, f.pool[state]);
        },
      });
      new Gauge({
        name: 'buildmesh_wakeups_received',
        help: 'LISTEN/NOTIFY wake-ups this replica received from the others since it started.',
        labelNames,
        registers,
        collect() {
          const f = replicaFigures();
          this.set({ replica: f.replica }, f.wakeupsReceived);
        },
      });
      new Gauge({
        name: 'buildmesh_wakeup_lag_seconds',
        help: 'Publish-to-delivery time of the last wake-up from another replica (includes clock skew between hosts).',
        labelNames,
        registers,
        collect() {
          const f = replicaFigures();
          this.set({ replica: f.replica }, f.wakeupLagMs / 1000);
        },
      });
      new Gauge({
        name: 'buildmesh_runs_sweeper',
        help: '1 on the replica holding the sweeper/retention advisory lock, else 0.',
        labelNames,
        registers,
        collect() {
          const f = replicaFigures();
          this.set({ replica: f.replica }, f.runsSweeper ? 1 : 0);
        },
      });
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** `queuedAt`: when the build (re-)entered the queue. */
  blobUploaded(size: number): void {
    this.blobUploads.inc();
    this.blobUploadBytes.inc(size);
  }

  observeClaim(queuedAt: string | undefined): void {
    const at = queuedAt ? Date.parse(queuedAt) : NaN;
    if (Number.isFinite(at)) this.claimLatency.observe(Math.max(0, Date.now() - at) / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const stats = await this.store.stats(this.onlineWithinMs);
    for (const status of STATUSES) this.builds.set({ status }, stats.buildsByStatus[status] ?? 0);
    for (const platform of PLATFORMS) this.queueDepth.set({ platform }, stats.queuedByPlatform[platform] ?? 0);
    this.workersOnline.set(stats.workersOnline);
    // Duration histograms come from bucket rows in the store (stats/histograms.ts), the same on every replica.
    const histograms = renderHistograms(await this.store.durationBuckets());
    return { contentType: this.registry.contentType, body: (await this.registry.metrics()) + histograms };
  }
}
