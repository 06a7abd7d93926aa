/**
 * The queue at 100k builds (seeded straight into the controller's SQLite file, then read
 * through the API):
 * - dispatch_100k_unmatched_p50_ms: submit → an idle long-polling worker has the job, with
 *   100,000 queued builds of another platform ahead; dispatch_label_backlog_p50_ms: the same
 *   with 100,000 builds of its platform needing a label no worker has.
 * - queue_info_100k_ms: GET /v1/builds/:id of the last of 100,000 queued builds (deepest position).
 * - list_filtered_100k_ms: GET /v1/builds filtered to a rare status, and to a rare profile (the slower).
 * - dispatch_with_20_waiting_clis_p99_ms: dispatch while 20 CLIs poll deep queued builds every
 *   2 s, as `buildmesh build` does while it waits.
 */
import type { BuildMeshClient } from '@buildmesh/protocol';
import { seedBuilds } from '../test/helpers/seed-sqlite.js';
import { enrollWorkers, startController } from './support/processes.js';
import { median, percentile } from './support/measure.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

const QUEUED = 100_000;

async function dispatchSamples(admin: BuildMeshClient, worker: BuildMeshClient, source: Buffer, rounds: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < rounds + 5; i++) {
    let claimedAt = 0;
    const claim = worker.claim(20_000).then((job) => {
      claimedAt = performance.now();
      return job;
    });
    await new Promise((r) => setTimeout(r, 15)); // let the long-poll park
    await admin.createBuild(benchSpec(), streamOf(source));
    const ackAt = performance.now();
    const job = await claim;
    if (!job) throw new Error('the waiting worker got no job');
    if (i >= 5) samples.push(Math.max(0, claimedAt - ackAt));
    await worker.finish(job.attempt.id, { outcome: 'succeeded' });
  }
  return samples;
}

async function timed(n: number, fn: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const t0 = performance.now();
    await fn();
    if (i >= 3) samples.push(performance.now() - t0);
  }
  return median(samples);
}

export async function benchQueueScale(): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    const { admin, dataDir } = controller;
    const source = await tinySource();
    const [worker] = await enrollWorkers(admin, 1, { platforms: ['web'] });
    // A worker that could take the ios builds, never claiming: queue info has a matching worker to count with.
    await enrollWorkers(admin, 1, { platforms: ['ios'] });

    const android = await admin.createBuild(benchSpec({ platform: 'android' }), streamOf(source));
    seedBuilds(dataDir, android.id, QUEUED - 1, { platform: 'android' });
    const unmatched = await dispatchSamples(admin, worker!, source, 100);

    const labelled = await admin.createBuild(benchSpec({ labels: { gpu: 'nobody-has-this' } }), streamOf(source));
    seedBuilds(dataDir, labelled.id, QUEUED - 1, { labels: { gpu: 'nobody-has-this' } });
    const labelBacklog = await dispatchSamples(admin, worker!, source, 100);

    const ios = await admin.createBuild(benchSpec({ platform: 'ios' }), streamOf(source));
    const iosIds = seedBuilds(dataDir, ios.id, QUEUED - 1, { platform: 'ios' });
    const deepest = iosIds.at(-1)!;
    const queueInfo = await timed(30, async () => {
      const b = await admin.getBuild(deepest);
      if (!b.queue) throw new Error('no queue info');
    });

    seedBuilds(dataDir, ios.id, 20, { status: 'failed', profileName: 'rare' });
    const listStatus = await timed(30, () => admin.listBuilds({ status: 'failed', limit: 50 }));
    const listProfile = await timed(30, () => admin.listBuilds({ profile: 'rare', limit: 50 }));

    // 20 waiting CLIs, each polling one deep ios build every 2 s, staggered.
    const stop = new AbortController();
    const pollers = Array.from({ length: 20 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 100));
      while (!stop.signal.aborted) {
        await admin.getBuild(iosIds[iosIds.length - 1 - i * 1000]!).catch(() => {});
        await new Promise((r) => setTimeout(r, 2000));
      }
    });
    const withClis = await dispatchSamples(admin, worker!, source, 300);
    stop.abort();
    await Promise.all(pollers);

    return {
      dispatch_100k_unmatched_p50_ms: percentile(unmatched, 50),
      dispatch_label_backlog_p50_ms: percentile(labelBacklog, 50),
      queue_info_100k_ms: queueInfo,
      list_filtered_100k_ms: Math.max(listStatus, listProfile),
      dispatch_with_20_waiting_clis_p99_ms: percentile(withClis, 99),
    };
  } finally {
    await controller.stop();
  }
}
