/** claim_finish_per_s with 200 racing workers, and double_assignments (must be 0). */
import { enrollWorkers, startController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

export async function benchClaimFinish(builds = 2000, workers = 200): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    const source = await tinySource();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next++ < builds) await controller.admin.createBuild(benchSpec(), streamOf(source));
      }),
    );
    const clients = await enrollWorkers(controller.admin, workers);
    const seen = new Map<string, number>();
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (;;) {
          const job = await client.claim(0);
          if (!job) return;
          seen.set(job.build.id, (seen.get(job.build.id) ?? 0) + 1);
          await client.finish(job.attempt.id, { outcome: 'succeeded' });
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const doubles = [...seen.values()].filter((n) => n > 1).length;
    if (seen.size !== builds) throw new Error(`only ${seen.size} of ${builds} builds were claimed`);
    return { claim_finish_per_s: builds / seconds, double_assignments: doubles };
  } finally {
    await controller.stop();
  }
}
