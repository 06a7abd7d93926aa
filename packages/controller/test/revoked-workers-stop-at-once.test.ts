/**
 * A revoked worker's credential stops working at once, on every worker route: claims (a waiting
 * long-poll included), hello, heartbeats, source, secrets, logs, artifacts, finish. Revoking an
 * enrollment token with andWorkers revokes exactly the workers it enrolled; without it they keep working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { BuildMeshClient, Capabilities } from '@buildmesh/protocol';
import { startControllerProcess } from './helpers/controller-process.js';
import { buildSpec, createTenant, streamOf, tinyTarGz, type TestWorker } from './helpers/fixtures.js';
import { rejectsWith } from './helpers/expect.js';

async function enrollWith(admin: BuildMeshClient, secret: string, name: string): Promise<TestWorker> {
  const capabilities: Capabilities = { name, platforms: ['android', 'web'], labels: {}, concurrency: 2, version: 'test' };
  const enrolled = await admin.withToken(secret).enroll(capabilities);
  return { workerId: enrolled.workerId, credential: enrolled.credential, client: admin.withToken(enrolled.credential), capabilities };
}

async function assertLockedOut(worker: TestWorker, attemptId: string, what: string): Promise<void> {
  const c = worker.client;
  await rejectsWith(c.claim(0), 'UNAUTHENTICATED', `${what}: claim`);
  await rejectsWith(c.hello(worker.capabilities), 'UNAUTHENTICATED', `${what}: hello`);
  await rejectsWith(c.heartbeat(attemptId), 'UNAUTHENTICATED', `${what}: heartbeat`);
  await rejectsWith(c.source(attemptId), 'UNAUTHENTICATED', `${what}: source`);
  await rejectsWith(c.attemptSecrets(attemptId), 'UNAUTHENTICATED', `${what}: secrets`);
  await rejectsWith(c.sendLogs(attemptId, { seq: 1, lines: [{ t: Date.now(), stream: 'stdout', text: 'x' }] }), 'UNAUTHENTICATED', `${what}: logs`);
  const bytes = Buffer.from('artifact');
  await rejectsWith(
    c.uploadArtifact(attemptId, { name: 'app.apk', kind: 'application-archive', size: bytes.length, sha256: '0'.repeat(64), stream: Readable.from([bytes]) }),
    'UNAUTHENTICATED',
    `${what}: artifact`,
  );
  await rejectsWith(c.finish(attemptId, { outcome: 'succeeded' }), 'UNAUTHENTICATED', `${what}: finish`);
}

test('revoked workers stop at once; enroll-token revoke --and-workers revokes the workers it enrolled', async () => {
  const controller = await startControllerProcess();
  try {
    const tenant = await createTenant(controller, 'acme');
    const source = await tinyTarGz('revoked');
    const first = await tenant.admin.createEnrollmentToken('rack-a');
    const second = await tenant.admin.createEnrollmentToken('rack-b');
    const [a1, a2] = [await enrollWith(tenant.admin, first.secret, 'a1'), await enrollWith(tenant.admin, first.secret, 'a2')];
    const [b1, b2] = [await enrollWith(tenant.admin, second.secret, 'b1'), await enrollWith(tenant.admin, second.secret, 'b2')];

    // One worker by id (`buildmesh workers revoke`), in the middle of a build it leases.
    const build = await tenant.member.createBuild(buildSpec(), streamOf(source));
    const job = await b2.client.claim(2000);
    assert.equal(job?.build.id, build.id);
    await tenant.admin.removeWorker(b2.workerId);
    await assertLockedOut(b2, job.attempt.id, 'revoked by id');

    // A waiting long-poll of a worker revoked meanwhile hands out nothing.
    const waiting = a2.client.claim(5000).then(
      (j) => j,
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 300));
    const revoked = await tenant.admin.revokeEnrollmentToken(first.enrollmentToken.id, { andWorkers: true });
    assert.deepEqual(revoked.revokedWorkers.sort(), [a1.workerId, a2.workerId].sort(), 'exactly the workers rack-a enrolled');
    assert.ok(revoked.revokedAt, 'the token itself is revoked');
    const next = await tenant.member.createBuild(buildSpec({ message: 'after revocation' }), streamOf(source));
    const settled = await waiting;
    assert.ok(settled === null || settled instanceof Error, `the revoked worker's waiting claim got nothing (${JSON.stringify(settled)})`);
    await assertLockedOut(a1, job.attempt.id, 'revoked with its enrollment token');
    await rejectsWith(tenant.admin.withToken(first.secret).enroll(a1.capabilities), 'UNAUTHENTICATED', 'the revoked enrollment token');

    // Without andWorkers the workers keep their own credentials.
    const kept = await tenant.admin.revokeEnrollmentToken(second.enrollmentToken.id);
    assert.deepEqual(kept.revokedWorkers, []);
    const taken = await b1.client.claim(2000);
    assert.ok(taken, 'b1 still claims');
    assert.ok([build.id, next.id].includes(taken.build.id));
    assert.deepEqual(
      (await tenant.reader.listWorkers()).workers.map((w) => w.name),
      ['b1'],
      'only the unrevoked worker is listed',
    );
  } finally {
    await controller.dispose();
  }
});
