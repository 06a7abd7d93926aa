/** submit_seq_per_s and submit_c20_per_s: tiny builds acknowledged per second, one at a time and 20 in flight. */
import { startController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

export async function benchSubmit(count = 1000): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    const source = await tinySource();
    const submit = () => controller.admin.createBuild(benchSpec(), streamOf(source));
    for (let i = 0; i < 50; i++) await submit(); // warm-up

    let t0 = performance.now();
    for (let i = 0; i < count; i++) await submit();
    const seq = count / ((performance.now() - t0) / 1000);

    t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next++ < count) await submit();
      }),
    );
    const c20 = count / ((performance.now() - t0) / 1000);
    return { submit_seq_per_s: seq, submit_c20_per_s: c20 };
  } finally {
    await controller.stop();
  }
}
