/**
 * Prometheus metrics. Queue and fleet gauges are read from the store on each
 * scrape (the store is the truth; nothing here can drift from it); the claim
 * latency histogram is observed as claims happen.
 */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BuildStatus, PLATFORMS } from '@buildmesh/protocol';
import type { Store } from './store/store.js';

const STATUSES = BuildStatus.anyOf.map((s) => s.const as string);

export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly builds: Gauge;
  private readonly queueDepth: Gauge;
  private readonly workersOnline: Gauge;
  private readonly claimLatency: Histogram;

  constructor(
    private readonly store: Store,
    private readonly onlineWithinMs: number,
    claimWaiters: () => number,
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
    this.claimLatency = new Histogram({
      name: 'buildmesh_claim_latency_seconds',
      help: 'Time from a build entering the queue to a worker claiming it.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** `queuedAt`: when the build (re-)entered the queue. */
  observeClaim(queuedAt: string | undefined): void {
    const at = queuedAt ? Date.parse(queuedAt) : NaN;
    if (Number.isFinite(at)) this.claimLatency.observe(Math.max(0, Date.now() - at) / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const stats = await this.store.stats(this.onlineWithinMs);
    for (const status of STATUSES) this.builds.set({ status }, stats.buildsByStatus[status] ?? 0);
    for (const platform of PLATFORMS) this.queueDepth.set({ platform }, stats.queuedByPlatform[platform] ?? 0);
    this.workersOnline.set(stats.workersOnline);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
