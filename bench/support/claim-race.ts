/** The claim benchmarks' two halves: queue builds from 20 submitters, then race clients to claim and finish them all. */
import type { BuildMeshClient } from '@buildmesh/protocol';

/** Submits `builds` builds from 20 concurrent submitters; `submit(lane)` sends one. */
export async function submitFromTwentyLanes(builds: number, submit: (lane: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async (_, lane) => {
      while (next++ < builds) await submit(lane);
    }),
  );
}

/** Every client claims and finishes until the queue is empty; fails unless each of the `builds` builds was claimed. */
export async function claimAndFinishAll(clients: BuildMeshClient[], builds: number): Promise<{ perSecond: number; doubles: number }> {
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
  if (seen.size !== builds) throw new Error(`only ${seen.size} of ${builds} builds were claimed`);
  return { perSecond: builds / seconds, doubles: [...seen.values()].filter((n) => n > 1).length };
}
