/**
 * A 1M-line log (1,000 batches of 1,000 lines, ≈130 MB stored, seeded straight into the
 * controller's SQLite file):
 * - log_read_1m_rss_mb: how far the controller's RSS rises (peak, sampled every 25 ms) while
 *   the whole log is read by pages of 10,000 lines.
 * - log_tail_1m_ms: GET …/logs?tail=100 (the last 100 lines), median.
 */
import { seedLogBatches } from '../test/helpers/seed-sqlite.js';
import { enrollWorkers, startController } from './support/processes.js';
import { median, rssMb, sampleRss } from './support/measure.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

export async function benchLogScale(): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    const { admin } = controller;
    const [worker] = await enrollWorkers(admin, 1);
    const build = await admin.createBuild(benchSpec(), streamOf(await tinySource()));
    const job = await worker!.claim(10_000);
    if (!job) throw new Error('no job');
    seedLogBatches(controller.dataDir, job.attempt.id, 1000, 1000);
    await worker!.finish(job.attempt.id, { outcome: 'succeeded' });
    await admin.readLogs(build.id, { limit: 10 });

    const before = rssMb(controller.pid);
    const sampler = sampleRss(controller.pid);
    let lines = 0;
    for (let cursor: string | undefined; ; ) {
      const page = await admin.readLogs(build.id, { cursor, limit: 10_000 });
      lines += page.entries.length;
      if (page.complete) break;
      cursor = page.nextCursor;
    }
    const peak = sampler.stop();
    if (lines !== 1_000_000) throw new Error(`read ${lines} lines`);

    const tails: number[] = [];
    for (let i = 0; i < 23; i++) {
      const t0 = performance.now();
      const page = await admin.readLogs(build.id, { tail: 100 });
      if (i >= 3) tails.push(performance.now() - t0);
      if (page.entries.length !== 100) throw new Error(`tail gave ${page.entries.length} lines`);
    }
    return { log_read_1m_rss_mb: peak - before, log_tail_1m_ms: median(tails) };
  } finally {
    await controller.stop();
  }
}
