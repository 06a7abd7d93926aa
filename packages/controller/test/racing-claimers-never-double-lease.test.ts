import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attempt, BuildJob } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, streamOf, tinyTarGz, type TestWorker } from './helpers/fixtures.js';

const BUILDS = 1000;
const WORKERS = 50;
const LOOPS_PER_WORKER = 4; // 200 claimers in all

/** The most attempts one worker held at the same instant (an end at t frees its slot before a start at t). */
function peakOverlap(attempts: Attempt[]): number {
  const edges = attempts.flatMap((a) => [
    { t: Date.parse(a.startedAt), d: 1 },
    { t: Date.parse(a.finishedAt ?? '9999-01-01T00:00:00Z'), d: -1 },
  ]);
  edges.sort((x, y) => x.t - y.t || x.d - y.d);
  let live = 0;
  let peak = 0;
  for (const e of edges) peak = Math.max(peak, (live += e.d));
  return peak;
}

test('200 racing claimers never lease a build twice nor exceed a worker’s slots', { timeout: 300_000 }, async (t) => {
  const controller = await startControllerProcess({ env: { BUILDMESH_LEASE_TTL_MS: '60000', BUILDMESH_HEARTBEAT_INTERVAL_MS: '5000', BUILDMESH_SQLITE_SYNCHRONOUS: 'normal' } });
  try {
    const tenant = await createTenant(controller, 'acme');
    const source = await tinyTarGz();
    let phase = Date.now();
    const queued: string[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (queued.length < BUILDS) {
          queued.push('');
          const build = await tenant.member.createBuild(buildSpec({ platform: 'android' }), streamOf(source));
          queued[queued.indexOf('')] = build.id;
        }
      }),
    );
    assert.equal(new Set(queued).size, BUILDS);
    t.diagnostic(`queued ${BUILDS} builds in ${Date.now() - phase} ms`);

    const workers: TestWorker[] = [];
    for (let i = 0; i < WORKERS; i++) workers.push(await enrollWorker(tenant.admin, { name: `w${i}`, platforms: ['android'], concurrency: 1 + (i % 4) }));

    phase = Date.now();
    const claimsPerBuild = new Map<string, number>();
    let finished = 0;
    await Promise.all(
      workers.flatMap((worker) =>
        Array.from({ length: LOOPS_PER_WORKER }, async () => {
          while (finished < BUILDS) {
            // No client-side timeout: on a loaded machine a reply may be slow, and a claim the client
            // gave up on would leave a leased build nobody finishes.
            const job = await worker.client.json<BuildJob | undefined>('POST', '/v1/worker/claim', { json: { waitMs: 300 }, timeoutMs: null });
            if (!job) continue;
            claimsPerBuild.set(job.build.id, (claimsPerBuild.get(job.build.id) ?? 0) + 1);
            await worker.client.finish(job.attempt.id, { outcome: 'succeeded' });
            finished++;
          }
        }),
      ),
    );

    t.diagnostic(`claimed and finished them in ${Date.now() - phase} ms`);
    assert.equal(claimsPerBuild.size, BUILDS, 'every build was claimed');
    const doubles = [...claimsPerBuild].filter(([, n]) => n !== 1);
    assert.deepEqual(doubles, [], 'no build was handed out twice');

    const byWorker = new Map<string, Attempt[]>();
    for (let i = 0; i < queued.length; i += 50) {
      const builds = await Promise.all(queued.slice(i, i + 50).map((id) => tenant.reader.getBuild(id)));
      for (const build of builds) {
        assert.equal(build.status, 'succeeded', build.id);
        assert.equal(build.attempts?.length, 1, `${build.id} has one attempt`);
        const attempt = build.attempts![0]!;
        byWorker.set(attempt.workerId, [...(byWorker.get(attempt.workerId) ?? []), attempt]);
      }
    }
    for (const worker of workers) {
      const peak = peakOverlap(byWorker.get(worker.workerId) ?? []);
      assert.ok(peak <= worker.capabilities.concurrency, `${worker.capabilities.name} held ${peak} attempts at once with ${worker.capabilities.concurrency} slots`);
    }
    // The slots were actually used in parallel: the limit was reached, not just respected by accident.
    assert.ok(workers.some((w) => w.capabilities.concurrency > 1 && peakOverlap(byWorker.get(w.workerId) ?? []) > 1), 'some worker used more than one slot at once');
  } finally {
    await controller.dispose();
  }
});
