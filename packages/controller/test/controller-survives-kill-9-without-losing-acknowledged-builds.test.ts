import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, NetworkError, type BuildJob } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, sleep, streamOf, tinyTarGz, type TestWorker } from './helpers/fixtures.js';

const TARGET_ACKED = 120;
const KILL_AFTER_ACKED = 50;

const isDown = (err: unknown) => err instanceof NetworkError || (err instanceof ApiError && err.code === 'SHUTTING_DOWN');

test('kill -9 mid-run loses no acknowledged build and completes none twice', { timeout: 300_000 }, async (t) => {
  const controller = await startControllerProcess({ env: { BUILDMESH_LEASE_TTL_MS: '1500', BUILDMESH_HEARTBEAT_INTERVAL_MS: '300' } });
  try {
    const tenant = await createTenant(controller, 'acme');
    const workers: TestWorker[] = [];
    for (let i = 0; i < 4; i++) workers.push(await enrollWorker(tenant.admin, { name: `w${i}`, platforms: ['android'], concurrency: 3 }));

    const acked: string[] = [];
    let unacknowledged = 0;
    const successfulFinishes = new Map<string, number>();
    let killed = false;
    let stop = false;

    const submitters = Array.from({ length: 6 }, async (_, n) => {
      let i = 0;
      while (acked.length < TARGET_ACKED) {
        try {
          const build = await tenant.member.createBuild(buildSpec({ maxAttempts: 5, message: `s${n}-${i++}` }), streamOf(await tinyTarGz(`s${n}-${i}`)));
          acked.push(build.id);
        } catch (err) {
          if (!isDown(err)) throw err;
          unacknowledged++;
          await sleep(100);
        }
      }
    });

    /** A worker slot: claim, run for a moment with a heartbeat and a log batch, report success. */
    const slot = async (worker: TestWorker) => {
      while (!stop) {
        let job: BuildJob | undefined;
        try {
          job = await worker.client.json<BuildJob | undefined>('POST', '/v1/worker/claim', { json: { waitMs: 300 }, timeoutMs: null });
        } catch (err) {
          if (!isDown(err)) throw err;
          await sleep(100);
          continue;
        }
        if (!job) continue;
        try {
          await sleep(20 + Math.random() * 150);
          await worker.client.heartbeat(job.attempt.id);
          await worker.client.sendLogs(job.attempt.id, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: `built ${job.build.id}` }] });
        } catch (err) {
          if (!isDown(err) && !(err instanceof ApiError && err.code === 'LEASE_LOST')) throw err;
          continue; // the lease may be gone; the sweeper requeues the build
        }
        // Report, retrying across the outage exactly as a real worker would.
        for (;;) {
          try {
            await worker.client.finish(job.attempt.id, { outcome: 'succeeded' });
            successfulFinishes.set(job.build.id, (successfulFinishes.get(job.build.id) ?? 0) + 1);
            break;
          } catch (err) {
            if (err instanceof ApiError && err.code === 'LEASE_LOST') break;
            if (!isDown(err)) throw err;
            await sleep(100);
          }
        }
      }
    };
    const slots = workers.flatMap((w) => [slot(w), slot(w), slot(w)]);

    await (async () => {
      while (acked.length < KILL_AFTER_ACKED) await sleep(20);
    })();
    const inFlight = acked.length - successfulFinishes.size;
    await controller.kill('SIGKILL');
    killed = true;
    t.diagnostic(`SIGKILL after ${acked.length} acknowledged builds, ${inFlight} of them not finished yet`);
    assert.ok(inFlight > 0, 'the kill landed mid-run');
    await sleep(300);
    await controller.restart();

    await Promise.all(submitters);
    assert.ok(acked.length >= TARGET_ACKED);
    // Every acknowledged build eventually completes (lost leases lapse and are requeued).
    const deadline = Date.now() + 120_000;
    let pending = [...acked];
    while (pending.length > 0) {
      assert.ok(Date.now() < deadline, `builds still not done: ${pending.slice(0, 5).join(', ')}`);
      const builds = await Promise.all(pending.map((id) => tenant.reader.getBuild(id)));
      pending = builds.filter((b) => b.status === 'queued' || b.status === 'running').map((b) => b.id);
      if (pending.length > 0) await sleep(300);
    }
    stop = true;
    await Promise.all(slots);
    assert.ok(killed);

    let requeued = 0;
    for (const id of acked) {
      const build = await tenant.reader.getBuild(id);
      assert.equal(build.status, 'succeeded', `${id} ended ${build.status}`);
      const attempts = build.attempts ?? [];
      assert.equal(build.attemptCount, attempts.length, `${id}: attempt count matches its attempts`);
      assert.deepEqual(attempts.map((a) => a.number), attempts.map((_, i) => i + 1), `${id}: attempts numbered 1..n`);
      assert.equal(attempts.filter((a) => a.status === 'succeeded').length, 1, `${id} completed exactly once`);
      assert.equal(attempts.at(-1)?.status, 'succeeded', `${id}: the last attempt is the one that succeeded`);
      assert.ok(attempts.slice(0, -1).every((a) => a.status === 'lost'), `${id}: earlier attempts were lost leases`);
      if (attempts.length > 1) requeued++;
      assert.ok((successfulFinishes.get(id) ?? 0) <= 1, `${id} was reported successful twice`);
    }
    for (const [id, n] of successfulFinishes) assert.equal(n, 1, `${id} finished successfully ${n} times`);
    t.diagnostic(`${acked.length} acknowledged, ${unacknowledged} submits failed during the outage, ${requeued} builds needed a second attempt`);
  } finally {
    await controller.dispose();
  }
});
