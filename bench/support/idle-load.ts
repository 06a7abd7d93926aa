/**
 * Load generator for the idle-workers benchmark, run as its own process: enrolls
 * N workers and keeps one claim long-poll open for each, re-polling on 204.
 * Prints "ready" once every long-poll is parked.
 */
import { BuildMeshClient } from '@buildmesh/protocol';

const url = process.env.BENCH_URL!;
const enrollToken = process.env.BENCH_ENROLL_TOKEN!;
const count = Number(process.env.BENCH_WORKERS ?? 10000);
const enroller = new BuildMeshClient({ url, token: enrollToken, timeoutMs: 120_000 });

const workers: BuildMeshClient[] = [];
for (let i = 0; i < count; i += 100) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(100, count - i) }, (_, j) =>
      enroller.enroll({ name: `idle-${i + j}`, platforms: ['ios'], labels: {}, concurrency: 1, version: 'bench' }),
    ),
  );
  for (const e of batch) workers.push(new BuildMeshClient({ url, token: e.credential }));
}

let parked = 0;
for (const worker of workers) {
  void (async () => {
    let first = true;
    for (;;) {
      const poll = worker.claim(60_000).catch(() => null);
      if (first) {
        first = false;
        // A request is parked once it has been sent; give the event loop a turn per batch.
        if (++parked === count) setTimeout(() => console.log('ready'), 2000);
      }
      await poll;
    }
  })();
  if (parked % 500 === 0) await new Promise((r) => setTimeout(r, 20));
}
