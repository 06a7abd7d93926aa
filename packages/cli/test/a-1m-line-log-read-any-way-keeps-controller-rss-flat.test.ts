/**
 * A 1M-line log (≈130 MB of stored JSON) read in full by pages, by SSE from the start and by
 * `buildmesh logs` raises the controller's RSS (/proc/<pid>/status, sampled every 20 ms) by less
 * than 64 MB; `buildmesh logs --tail 100` prints the last 100 lines without reading the rest (every
 * other batch is then made unreadable, and the tail still answers). A memory bound, not a timing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BuildMeshClient, type LogEntry } from '@buildmesh/protocol';
import { BIN, cleanEnv, runCli } from './helpers/cli.js';
import { startMesh } from './helpers/mesh.js';
import { makeFixtureProject, submitBuild } from '../../../test/helpers/builds.js';
import { openDataDirDb, seedLogBatches } from '../../../test/helpers/seed-sqlite.js';

const BOUND_MB = 64;
const BATCHES = 1000;
const LINES_PER_BATCH = 1000;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Runs `fn` while sampling the process's RSS; returns fn's result and the peak growth over the RSS before it. */
async function rssGrowth<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; growthMb: number }> {
  const before = rssMb(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  try {
    const result = await fn();
    peak = Math.max(peak, rssMb(pid));
    return { result, growthMb: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/** `buildmesh logs …` with stdout counted, not kept: [lines, last line]. */
function cliLines(args: string[], env: NodeJS.ProcessEnv): Promise<{ lines: number; last: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    let tail = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (let i = d.indexOf('\n'); i !== -1; i = d.indexOf('\n', i + 1)) lines++;
      tail = (tail + d).slice(-400);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ lines, last: tail.trimEnd().split('\n').at(-1) ?? '', code }));
  });
}

void test('a 1M-line log read by pages, by SSE and by buildmesh logs raises controller RSS by < 64 MB; --tail 100 reads only the end', async (t) => {
  const mesh = await startMesh(t);
  const pid = mesh.controller.pid!;
  const admin = new BuildMeshClient({ url: mesh.url, token: mesh.adminToken, timeoutMs: 120_000 });
  const build = await submitBuild(admin, makeFixtureProject(t, ['true']));
  const { secret } = await admin.createEnrollmentToken('rss');
  const enrolled = await admin.withToken(secret).enroll({ name: 'rss', platforms: ['web'], labels: {}, concurrency: 1, version: 'test' });
  const worker = admin.withToken(enrolled.credential);
  const job = await worker.claim(10_000);
  assert.equal(job?.build.id, build.id);
  assert.equal(seedLogBatches(mesh.dataDir, job.attempt.id, BATCHES, LINES_PER_BATCH).lines, BATCHES * LINES_PER_BATCH);
  await worker.finish(job.attempt.id, { outcome: 'succeeded' });
  await admin.readLogs(build.id, { limit: 10 }); // warm the route up

  const pages = await rssGrowth(pid, async () => {
    let n = 0;
    let cursor: string | undefined;
    for (;;) {
      const page = await admin.readLogs(build.id, { cursor, limit: 10_000 });
      n += page.entries.length;
      if (page.complete) return n;
      cursor = page.nextCursor;
    }
  });
  assert.equal(pages.result, BATCHES * LINES_PER_BATCH);
  assert.ok(pages.growthMb < BOUND_MB, `pages raised controller RSS by ${pages.growthMb.toFixed(1)} MB`);

  const sse = await rssGrowth(pid, async () => {
    let n = 0;
    let last: LogEntry | undefined;
    for await (const entry of admin.followLogs(build.id)) {
      n++;
      last = entry;
    }
    return { n, last };
  });
  assert.equal(sse.result.n, BATCHES * LINES_PER_BATCH);
  assert.match(sse.result.last?.text ?? '', /^line 999999 /);
  assert.ok(sse.growthMb < BOUND_MB, `SSE from the start raised controller RSS by ${sse.growthMb.toFixed(1)} MB`);

  const cli = await rssGrowth(pid, () => cliLines(['logs', build.id], mesh.env));
  assert.equal(cli.result.code, 0);
  assert.ok(cli.result.lines >= BATCHES * LINES_PER_BATCH, `buildmesh logs printed ${cli.result.lines} lines`);
  assert.ok(cli.growthMb < BOUND_MB, `buildmesh logs raised controller RSS by ${cli.growthMb.toFixed(1)} MB`);
  t.diagnostic(`controller RSS growth: pages ${pages.growthMb.toFixed(1)} MB, SSE ${sse.growthMb.toFixed(1)} MB, buildmesh logs ${cli.growthMb.toFixed(1)} MB`);

  // Every batch but the last becomes unreadable JSON: a tail that read them would fail.
  const db = openDataDirDb(mesh.dataDir);
  db.prepare("update log_batches set lines = 'not json' where attempt_id = ? and seq < ?").run(job.attempt.id, BATCHES);
  db.close();
  const tail = await runCli(['logs', '--tail', '100', '--json', build.id], { env: mesh.env });
  assert.equal(tail.code, 0, tail.stderr);
  const texts = tail.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as LogEntry).text);
  assert.equal(texts.length, 100);
  assert.match(texts[0]!, /^line 999900 /);
  assert.match(texts[99]!, /^line 999999 /);
});
