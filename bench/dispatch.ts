/** dispatch_p50_ms / dispatch_p99_ms: submit acknowledged → an idle long-polling worker has the job. */
import { enrollWorkers, startController } from './support/processes.js';
import { percentile } from './support/measure.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

export async function benchDispatch(rounds = 200): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    const [worker] = await enrollWorkers(controller.admin, 1);
    const source = await tinySource();
    const samples: number[] = [];
    for (let i = 0; i < rounds + 10; i++) {
      let claimedAt = 0;
      const claim = worker!.claim(20_000).then((job) => {
        claimedAt = performance.now();
        return job;
      });
      await new Promise((r) => setTimeout(r, 15)); // let the long-poll park
      await controller.admin.createBuild(benchSpec(), streamOf(source));
      const ackAt = performance.now();
      const job = await claim;
      if (!job) throw new Error('the waiting worker got no job');
      if (i >= 10) samples.push(Math.max(0, claimedAt - ackAt)); // the first rounds warm up
      await worker!.finish(job.attempt.id, { outcome: 'succeeded' });
    }
    return { dispatch_p50_ms: percentile(samples, 50), dispatch_p99_ms: percentile(samples, 99) };
  } finally {
    await controller.stop();
  }
}
