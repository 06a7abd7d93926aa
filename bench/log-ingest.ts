/**
 * log_ingest_lines_per_s_200k / _1m: lines per second a controller stores from
 * log batches of ~200 KB and ~1 MB posted back to back by one attempt. The
 * bodies are serialized before the clock starts, so the figure is the
 * controller's (HTTP parse, validation, store), not the client's JSON work.
 * Not registered in run.ts (log benchmarks live there separately);
 * run it with `npx tsx bench/log-ingest.ts`.
 */
import type { BuildMeshClient } from '@buildmesh/protocol';
import { enrollWorkers, startController } from './support/processes.js';
import { benchSpec, streamOf, tinySource } from './support/sources.js';

/** A ~100-byte JSON line, like a chatty build step's output. */
function batchBody(seq: number, bytes: number): { body: string; lines: number } {
  const lines = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = { t: 1_700_000_000_000 + i, stream: 'stdout', phase: 'RUN', text: `line ${seq}:${i} compiling module ${'x'.repeat(30)} ok` };
    size += JSON.stringify(line).length + 1;
    lines.push(line);
  }
  return { body: JSON.stringify({ seq, lines }), lines: lines.length };
}

export async function benchLogIngest(batches = 60): Promise<Record<string, number>> {
  const controller = await startController();
  try {
    return await ingestInto(controller.url, controller.admin, batches);
  } finally {
    await controller.stop();
  }
}

/** Posts the batches into a running controller (also used to profile one). */
export async function ingestInto(url: string, admin: BuildMeshClient, batches = 60): Promise<Record<string, number>> {
  const controller = { url, admin };
  {
    const [worker] = await enrollWorkers(controller.admin, 1);
    const source = await tinySource();
    const figures: Record<string, number> = {};
    for (const [key, bytes] of [['200k', 200 * 1024], ['1m', 1024 * 1024]] as const) {
      await controller.admin.createBuild(benchSpec(), streamOf(source));
      const job = await worker!.claim(0);
      if (!job) throw new Error('no job to log into');
      const credential = (worker as unknown as { token: string }).token;
      const bodies = Array.from({ length: batches }, (_, i) => batchBody(i + 1, bytes));
      const post = async (body: string) => {
        const res = await fetch(`${controller.url}/v1/attempts/${job.attempt.id}/logs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
          body,
        });
        if (res.status !== 200) throw new Error(`log batch answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      };
      const warm = 5;
      for (let i = 0; i < warm; i++) await post(bodies[i]!.body);
      const t0 = performance.now();
      let lines = 0;
      for (let i = warm; i < batches; i++) {
        await post(bodies[i]!.body);
        lines += bodies[i]!.lines;
      }
      const seconds = (performance.now() - t0) / 1000;
      figures[`log_ingest_lines_per_s_${key}`] = lines / seconds;
      figures[`log_ingest_ms_per_batch_${key}`] = (seconds * 1000) / (batches - warm);
      await worker!.finish(job.attempt.id, { outcome: 'succeeded' });
    }
    return figures;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await benchLogIngest());
  for (const key of Object.keys(runs[0]!)) {
    const values = runs.map((r) => r[key]!).sort((a, b) => a - b);
    console.log(`${key.padEnd(34)} median ${values[1]!.toFixed(1).padStart(10)}   runs ${values.map((v) => v.toFixed(1)).join(', ')}`);
  }
}
