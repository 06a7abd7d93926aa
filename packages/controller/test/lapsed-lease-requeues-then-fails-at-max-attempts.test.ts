import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, enrollWorker, eventually, sleep, streamOf, tinyTarGz } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

test('a lapsed lease requeues the build to another worker, records both attempts, and fails it at max attempts', async () => {
  const controller = await startControllerProcess({
    env: { BUILDMESH_LEASE_TTL_MS: '800', BUILDMESH_HEARTBEAT_INTERVAL_MS: '200', BUILDMESH_SWEEP_INTERVAL_MS: '50' },
  });
  try {
    const tenant = await createTenant(controller, 'acme');
    const first = await enrollWorker(tenant.admin, { name: 'first' });
    const second = await enrollWorker(tenant.admin, { name: 'second' });
    const build = await tenant.member.createBuild(buildSpec({ maxAttempts: 2 }), streamOf(await tinyTarGz()));

    const job1 = await first.client.claim(2000);
    assert.equal(job1?.build.id, build.id);
    assert.equal(job1.attempt.number, 1);
    // A heartbeat renews the lease; then the first worker goes silent (crashed, or lost the network).
    await first.client.heartbeat(job1.attempt.id);

    // The second worker is already long-polling when the lease lapses: the requeue wakes it.
    const waitedFrom = Date.now();
    const job2 = await second.client.claim(10_000);
    assert.equal(job2?.build.id, build.id, 'the requeued build went to the waiting worker');
    assert.equal(job2.attempt.number, 2);
    assert.ok(Date.now() - waitedFrom < 5000, 'the waiting claim was answered soon after the lapse');

    const midway = await tenant.reader.getBuild(build.id);
    assert.equal(midway.status, 'running');
    assert.equal(midway.attempts?.length, 2);
    assert.equal(midway.attempts?.[0]?.status, 'lost');
    assert.equal(midway.attempts?.[0]?.workerId, first.workerId);
    assert.equal(midway.attempts?.[1]?.status, 'running');
    assert.equal(midway.attempts?.[1]?.workerId, second.workerId);

    // The first worker comes back: its attempt is over.
    await rejectsWith(first.client.heartbeat(job1.attempt.id), 'LEASE_LOST', 'stale heartbeat');
    await rejectsWith(first.client.finish(job1.attempt.id, { outcome: 'succeeded' }), 'LEASE_LOST', 'stale finish');

    // The second worker goes silent too: no attempts are left, the build fails.
    const failed = await eventually(async () => {
      const b = await tenant.reader.getBuild(build.id);
      return b.status === 'failed' ? b : undefined;
    }, 10_000, 'the build to fail');
    assert.equal(failed.error?.code, 'LEASE_EXPIRED');
    assert.ok(failed.error?.explanation, 'the failure carries a one-line explanation');
    assert.equal(failed.attemptCount, 2);
    assert.deepEqual(failed.attempts?.map((a) => [a.number, a.status, a.workerId]), [
      [1, 'lost', first.workerId],
      [2, 'lost', second.workerId],
    ]);

    // Nothing is handed out again.
    await sleep(300);
    assert.equal(await first.client.claim(0), null);
    assert.equal(await second.client.claim(0), null);
  } finally {
    await controller.dispose();
  }
});
