import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { startControllerProcess } from './helpers/controller-process.js';
import { leasedBuild } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

test('a cancel reaches the worker in its next heartbeat, and late results are refused', async () => {
  const controller = await startControllerProcess();
  try {
    const { tenant, worker, build, attemptId } = await leasedBuild(controller);

    const before = await worker.client.heartbeat(attemptId);
    assert.equal(before.cancel, false);
    assert.equal(before.reason, null);

    const canceled = await tenant.member.cancelBuild(build.id);
    assert.equal(canceled.status, 'canceled');

    const after = await worker.client.heartbeat(attemptId);
    assert.equal(after.cancel, true, 'the very next heartbeat says stop');
    assert.equal(after.reason, 'canceled');

    // A success reported after the cancel is not recorded (the attempt ends either way).
    await rejectsWith(worker.client.finish(attemptId, { outcome: 'succeeded' }), 'CONFLICT', 'finish after cancel');
    const final = await tenant.reader.getBuild(build.id);
    assert.equal(final.status, 'canceled');
    assert.equal(final.attempts?.[0]?.status, 'canceled');

    // The lease is gone: every later result from this attempt is refused.
    await rejectsWith(worker.client.finish(attemptId, { outcome: 'succeeded' }), 'LEASE_LOST', 'late finish');
    await rejectsWith(worker.client.sendLogs(attemptId, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: 'late' }] }), 'LEASE_LOST', 'late log');
    const bytes = Buffer.from('late artifact');
    await rejectsWith(
      worker.client.uploadArtifact(attemptId, {
        name: 'late.apk',
        kind: 'application-archive',
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        stream: Readable.from([bytes]),
      }),
      'LEASE_LOST',
      'late artifact',
    );
    await rejectsWith(worker.client.heartbeat(attemptId), 'LEASE_LOST', 'late heartbeat');
    await rejectsWith(worker.client.source(attemptId), 'LEASE_LOST', 'late source');
    assert.deepEqual((await tenant.reader.listArtifacts(build.id)).artifacts, []);
    assert.deepEqual((await tenant.reader.readLogs(build.id)).entries, []);

    // A second cancel is refused: the build has ended.
    await rejectsWith(tenant.member.cancelBuild(build.id), 'BUILD_NOT_CANCELABLE');
  } finally {
    await controller.dispose();
  }
});

test('a late finish after the lease lapsed is refused with LEASE_LOST', async () => {
  const controller = await startControllerProcess({ env: { BUILDMESH_LEASE_TTL_MS: '600', BUILDMESH_HEARTBEAT_INTERVAL_MS: '200' } });
  try {
    const { tenant, worker, job } = await leasedBuild(controller, { maxAttempts: 1 });
    // No heartbeats: the lease lapses and the sweeper ends the attempt.
    await new Promise((r) => setTimeout(r, 1200));
    await rejectsWith(worker.client.finish(job.attempt.id, { outcome: 'succeeded' }), 'LEASE_LOST');
    const ended = await tenant.reader.getBuild(job.build.id);
    assert.equal(ended.status, 'failed');
    assert.equal(ended.error?.code, 'LEASE_EXPIRED');
  } finally {
    await controller.dispose();
  }
});
