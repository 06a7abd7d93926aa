/** idle_workers_10k_rss_mb and idle_workers_10k_cpu_pct: the controller holding 10,000 long-polling workers. */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ROOT, spawnTs, startController } from './support/processes.js';
import { cpuSeconds, median, rssMb } from './support/measure.js';

export async function benchIdleWorkers(count = 10_000, windows = 3, windowMs = 10_000): Promise<Record<string, number>> {
  const controller = await startController({ BUILDMESH_CLAIM_WAIT_MS: '60000', BUILDMESH_LEASE_TTL_MS: '60000' });
  try {
    const { secret } = await controller.admin.createEnrollmentToken('idle');
    const load = spawnTs(join(ROOT, 'bench/support/idle-load.ts'), { BENCH_URL: controller.url, BENCH_ENROLL_TOKEN: secret, BENCH_WORKERS: String(count) }, { stdout: 'pipe' });
    load.child.stdout?.setEncoding('utf8');
    try {
      await waitForLine(load.child.stdout!, 'ready', 300_000);
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

function waitForLine(stream: NodeJS.ReadableStream, text: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms`)), timeoutMs);
    createInterface({ input: stream }).on('line', (line) => {
      if (line.trim() === text) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
