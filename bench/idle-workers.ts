/** idle_workers_10k_rss_mb and idle_workers_10k_cpu_pct: the controller holding 10,000 long-polling workers. */
import { join } from 'node:path';
import { ROOT, spawnTs, startController } from './support/processes.js';
import { waitFor } from '../test/helpers/wait.js';
import { cpuSeconds, median, rssMb } from './support/measure.js';

export async function benchIdleWorkers(count = 10_000, windows = 3, windowMs = 10_000): Promise<Record<string, number>> {
  const controller = await startController({}, { claimWaitMs: 60_000, leaseTtlMs: 60_000 });
  try {
    const { secret } = await controller.admin.createEnrollmentToken('idle');
    const load = spawnTs(join(ROOT, 'bench/support/idle-load.ts'), { BENCH_URL: controller.url, BENCH_ENROLL_TOKEN: secret, BENCH_WORKERS: String(count) });
    try {
      await waitFor(() => /^ready$/m.test(load.output()), { timeoutMs: 300_000, intervalMs: 200, what: 'the load generator to park every long-poll' });
      const rss: number[] = [];
      const cpu: number[] = [];
      for (let i = 0; i < windows; i++) {
        const c0 = cpuSeconds(controller.pid);
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, windowMs));
        cpu.push(((cpuSeconds(controller.pid) - c0) / ((performance.now() - t0) / 1000)) * 100);
        rss.push(rssMb(controller.pid));
      }
      return { idle_workers_10k_rss_mb: median(rss), idle_workers_10k_cpu_pct: median(cpu) };
    } finally {
      await load.stop();
    }
  } finally {
    await controller.stop();
  }
}
